"""Reading several views at once: the elections on offer, the races of a region or of
the election (through the race list's index and pages, never one document of every race).

Everything here reads through the views port (`ViewStore`) and writes
nothing; listing is the store's `channels` (a SCAN in Redis, never KEYS).
Retired elections (`votewire election retire`) are left out of the listing;
their views stay readable by channel.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from votewire.core.channels import race_channel, race_page_channel, races_channel
from votewire.live.view_store import ViewStore


class RetiredSource(Protocol):
    """The retired elections (`infra.election_registry.ElectionRegistry.retired`)."""

    async def retired(self) -> set[str]: ...


async def read_views(views: ViewStore, channels: list[str]) -> dict[str, dict[str, Any]]:
    """The parsed views of `channels` that exist, in one read."""
    stored = await views.get_views(channels)
    return {c: json.loads(stored[c].doc) for c in channels if c in stored}


def _newest_first(entry: dict[str, Any]) -> tuple[str, bool, str]:
    # The national view carries the definition's date (views written before it did: None).
    return (str(entry.get("date") or ""), not entry["test"], entry["election_id"])


async def list_elections(
    views: ViewStore, retired: RetiredSource | None = None
) -> list[dict[str, Any]]:
    """Every election with a national view that is not retired, newest first (date, then
    real before test, id). A loaded election has its national view (zero counts) at once."""
    hidden = await retired.retired() if retired is not None else set()
    channels = [c for c in await views.channels("summary:") if c.split(":", 1)[1] not in hidden]
    summaries = await read_views(views, channels)
    out = [
        {
            "election_id": channel.split(":", 1)[1],
            "name": view.get("name", ""),
            "test": bool(view.get("test", False)),
            "date": view.get("date"),
            "version": view.get("version", 0),
            "precincts_reporting": view.get("precincts_reporting", 0),
            "precincts_total": view.get("precincts_total", 0),
        }
        for channel, view in summaries.items()
    ]
    return sorted(out, key=_newest_first, reverse=True)


class ElectionIndex:
    """`list_elections`, remembered for `ttl_s`: the dashboard asks on every page load,
    and a SCAN per visitor would be a needless load on Redis on election night.
    Concurrent callers share one scan."""

    def __init__(self, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._cached: tuple[float, list[dict[str, Any]]] | None = None
        self._lock = asyncio.Lock()

    async def elections(
        self, views: ViewStore, retired: RetiredSource | None = None
    ) -> list[dict[str, Any]]:
        async with self._lock:
            if self._cached is None or self.clock() >= self._cached[0]:
                found = await list_elections(views, retired)
                self._cached = (self.clock() + self.ttl_s, found)
            return self._cached[1]


async def listed_races(
    views: ViewStore, election_id: str, region_id: str | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """(the race list's index `races:E`, the race ids its pages list, in list order): of
    the region's group only with `region_id`, else of every group. (None, []) without an
    index. Reads the index, then the pages in one read (`core.race_pages`); a page not
    published lists nothing (no race of it has a view yet). An index of the layout before
    paging (one `races` array) is read as it is."""
    index = (await read_views(views, [races_channel(election_id)])).get(races_channel(election_id))
    if index is None:
        return None, []
    if "groups" not in index:
        lines = index.get("races", [])
        return index, [
            line["race_id"] for line in lines if region_id is None or line["region_id"] == region_id
        ]
    channels = [
        race_page_channel(election_id, group["group"], page)
        for group in index["groups"]
        if region_id is None or group["region_id"] == region_id
        for page in range(group["pages"])
    ]
    pages = await read_views(views, channels)
    return index, [line["race_id"] for c in channels if c in pages for line in pages[c]["races"]]


async def region_races(views: ViewStore, election_id: str, region_id: str) -> list[dict[str, Any]]:
    """Race views of one region, in the order of its race-list pages (else by race id).

    Races that have no view yet are left out. Without a `races:E` index the
    race channels of the election are scanned instead.
    """
    index, race_ids = await listed_races(views, election_id, region_id)
    if index is not None:
        channels = [race_channel(election_id, race_id) for race_id in race_ids]
    else:
        channels = await views.channels(race_channel(election_id, ""))
    found = await read_views(views, channels)
    return [found[c] for c in channels if c in found and found[c].get("region_id") == region_id]
