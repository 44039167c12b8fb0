"""The URL fetch-and-cite tool: fetch one page from an allowed domain, cite it, summarise it.

Every hop of a redirect is checked against the domain allow-list before it is requested; the
body is read in chunks and abandoned past the size limit; every request has a deadline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel

from ecm_runtime.tools import ToolFailure, domain_allowed

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.I | re.S)
SUMMARY_CHARS = 280


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
        body, final = self._fetch(url)
        text = body.decode("utf-8", errors="replace")
        title = _TITLE.search(text)
        words = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
        heading = " ".join(html.unescape(title.group(1)).split()) if title else ""
        summary = words[:SUMMARY_CHARS]
        return {
            "tool_name": self.tool_name,
            "answer_text": f"{heading}: {summary}" if heading else summary,
            "citations": [final],
            "provenance": {"source": final, "retrieved_at": self.clock()},
        }

    def _fetch(self, url: str) -> tuple[bytes, str]:
        with httpx.Client(
            follow_redirects=False, timeout=self.timeout, transport=self.transport
        ) as client:
            for _ in range(self.max_redirects + 1):
                if urlsplit(url).scheme not in ("http", "https"):
                    raise ToolFailure("forbidden_domain", f"not an http(s) URL: {url}")
                if not domain_allowed(url, self.allowed_domains):
                    raise ToolFailure(
                        "forbidden_domain", f"{urlsplit(url).hostname} is not allowed"
                    )
                try:
                    with client.stream("GET", url) as response:
                        if response.is_redirect:
                            url = urljoin(url, response.headers.get("location", ""))
                            continue
                        if response.status_code >= 400:
                            raise ToolFailure("provider_error", f"HTTP {response.status_code}")
                        return self._read(response), url
                except httpx.TimeoutException as error:
                    raise ToolFailure("timeout", f"{url}: {error}") from None
                except httpx.HTTPError as error:
                    raise ToolFailure("provider_error", f"{url}: {error}") from None
        raise ToolFailure("policy_block", f"more than {self.max_redirects} redirects")

    def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise ToolFailure("budget_exceeded", f"body of {declared} bytes is over the limit")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ToolFailure("budget_exceeded", f"body over {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
