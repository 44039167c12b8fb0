"""The URL fetch-and-cite tool: fetch one page from an allowed domain, cite it, summarise it.

Every hop of a redirect is checked against the domain allow-list before it is requested; the
body is read in chunks and abandoned past the size limit; every request has a deadline. The
page is decoded by its declared charset (the Content-Type header, else a `<meta>` in its
head, else UTF-8) and read with the standard library's HTML parser: comments, scripts and
styles say nothing.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from ecm_contract import Role
from pydantic import BaseModel

from ecm_runtime.errors import ToolFailure
from ecm_runtime.tools import domain_allowed

SUMMARY_CHARS = 280
_SNIFF_BYTES = 2048
# `<meta charset="x">` or `<meta http-equiv="Content-Type" content="text/html; charset=x">`
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:\-]+)", re.I)
_SILENT = frozenset({"script", "style", "noscript", "template"})


class _Text(HTMLParser):
    """The title and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.words: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SILENT or tag == "title":
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if any(tag in _SILENT for tag in self._open):
            return
        if "title" in self._open:
            self.title.append(data)
        self.words.append(data)


def page_text(body: bytes, declared: str | None) -> tuple[str, str]:
    """(title, text) of an HTML page, decoded by its declared charset."""
    parser = _Text()
    parser.feed(body.decode(_charset(body, declared), errors="replace"))
    parser.close()
    return " ".join("".join(parser.title).split()), " ".join(" ".join(parser.words).split())


def _charset(body: bytes, declared: str | None) -> str:
    sniffed = _META_CHARSET.search(body[:_SNIFF_BYTES])
    for candidate in (declared, sniffed.group(1).decode("ascii") if sniffed else None):
        if candidate:
            try:
                return codecs.lookup(candidate).name
            except LookupError:
                continue
    return "utf-8"


class UrlFetchProvider:
    tool_name = "url_fetch_and_cite"

    def __init__(
        self,
        allowed_domains: frozenset[str],
        clock: Callable[[], int],
        *,
        max_bytes: int = 1_000_000,
        timeout_seconds: float = 5.0,
        max_redirects: int = 5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allowed_domains = allowed_domains
        self.clock = clock
        self.max_bytes = max_bytes
        self.timeout = httpx.Timeout(timeout_seconds)
        self.max_redirects = max_redirects
        self.transport = transport

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        url = str(request.model_dump()["url"])
        body, charset, final = self._fetch(url)
        heading, words = page_text(body, charset)
        summary = words[:SUMMARY_CHARS]
        return {
            "tool_name": self.tool_name,
            "answer_text": f"{heading}: {summary}" if heading else summary,
            "citations": [final],
            "provenance": {"source": final, "retrieved_at": self.clock()},
        }

    def _fetch(self, url: str) -> tuple[bytes, str | None, str]:
        """The body, its declared charset and the final URL."""
        with httpx.Client(
            follow_redirects=False, timeout=self.timeout, transport=self.transport
        ) as client:
            for _ in range(self.max_redirects + 1):
                if urlsplit(url).scheme not in ("http", "https"):
                    raise ToolFailure(Role.FORBIDDEN_DOMAIN, f"not an http(s) URL: {url}")
                if not domain_allowed(url, self.allowed_domains):
                    raise ToolFailure(
                        Role.FORBIDDEN_DOMAIN, f"{urlsplit(url).hostname} is not allowed"
                    )
                try:
                    with client.stream("GET", url) as response:
                        if response.is_redirect:
                            url = urljoin(url, response.headers.get("location", ""))
                            continue
                        if response.status_code >= 400:
                            raise ToolFailure(Role.PROVIDER_ERROR, f"HTTP {response.status_code}")
                        return self._read(response), response.charset_encoding, url
                except httpx.TimeoutException as error:
                    raise ToolFailure(Role.TIMEOUT, f"{url}: {error}") from None
                except httpx.HTTPError as error:
                    raise ToolFailure(Role.PROVIDER_ERROR, f"{url}: {error}") from None
        raise ToolFailure(Role.POLICY_BLOCK, f"more than {self.max_redirects} redirects")

    def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise ToolFailure(Role.BUDGET_EXCEEDED, f"body of {declared} bytes is over the limit")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ToolFailure(Role.BUDGET_EXCEEDED, f"body over {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
