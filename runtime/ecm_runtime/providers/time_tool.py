"""The time tool: the current time in the zone a query names, from the IANA tz database."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

_WORD = re.compile(r"[A-Za-z][A-Za-z_/+\-]*")


@cache
def _zones() -> dict[str, str]:
    """Lower-cased names a query may use -> IANA key: `europe/paris`, `paris`, `new york`."""
    names: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        names.setdefault(key.lower(), key)
        city = key.rsplit("/", 1)[-1].replace("_", " ").lower()
        if "/" in key:
            names.setdefault(city, key)
    return names


def zone_for(query: str) -> zoneinfo.ZoneInfo:
    """The zone a query names (an IANA key or a city), longest match first; UTC otherwise."""
    words = _WORD.findall(query.lower())
    zones = _zones()
    for size in range(min(len(words), 3), 0, -1):
        for start in range(len(words) - size + 1):
            name = " ".join(words[start : start + size])
            if name in zones:
                return zoneinfo.ZoneInfo(zones[name])
    return zoneinfo.ZoneInfo("UTC")


class TimeProvider:
    """Answers `time` queries; `clock` gives unix milliseconds (the runtime's clock)."""

    tool_name = "time"

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock

    def __call__(self, request: BaseModel) -> dict[str, Any]:
        query = str(request.model_dump().get("query") or "")
        zone = zone_for(query)
        now = self.clock()
        moment = datetime.fromtimestamp(now / 1000, tz=UTC).astimezone(zone)
        offset = moment.strftime("%z")
        return {
            "tool_name": self.tool_name,
            "answer_text": f"{moment:%H:%M} on {moment:%A %d %B %Y} in {zone.key} "
            f"(UTC{offset[:3]}:{offset[3:]})",
            "provenance": {"source": f"IANA time zone database: {zone.key}", "retrieved_at": now},
        }
