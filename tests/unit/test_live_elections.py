"""Several views at once, in memory: the elections on offer and the races of a region."""

from __future__ import annotations

import json
from typing import Any

from votewire.infra.memory_views import MemoryViews
from votewire.live.elections import ElectionIndex, list_elections, region_races


def summary(election_id: str, test: bool, date: str | None = None) -> bytes:
    body: dict[str, Any] = {"election_id": election_id, "name": election_id.upper(), "test": test}
    if date:
        body["date"] = date
    return json.dumps(body).encode()


async def test_elections_are_listed_newest_first_real_before_test() -> None:
    """Only channels with a national view count; by date, then real before test, then id."""
    views = MemoryViews()
    await views.put_view("summary:a-2021", 1, summary("a-2021", False))
    await views.put_view("summary:b-2021", 1, summary("b-2021", True))
    await views.put_view("summary:c-2026", 1, summary("c-2026", True, "2026-03-01"))
    await views.put_view("race:d-2030:r1", 1, b"{}")  # no summary: not on offer
    found = await list_elections(views)
    assert [e["election_id"] for e in found] == ["c-2026", "a-2021", "b-2021"]
    assert found[1] == {
        "election_id": "a-2021",
        "name": "A-2021",
        "test": False,
        "date": None,
        "version": 0,
        "precincts_reporting": 0,
        "precincts_total": 0,
    }


async def test_the_index_is_remembered_for_its_ttl() -> None:
    """Within the TTL a new election is not seen yet; after it, it is."""
    views, now = MemoryViews(), [0.0]
    index = ElectionIndex(ttl_s=5.0, clock=lambda: now[0])
    await views.put_view("summary:a", 1, summary("a", False))
    assert len(await index.elections(views)) == 1
    await views.put_view("summary:b", 1, summary("b", False))
    now[0] = 4.9
    assert len(await index.elections(views)) == 1
    now[0] = 5.0
    assert len(await index.elections(views)) == 2


async def test_region_races_follow_the_race_list_else_the_race_ids() -> None:
    """With `races:E`: its order, the region's races that have a view. Without it: every
    race channel of the election (and only of that election), by id."""
    views = MemoryViews()
    for race_id, region in [("r2", "n"), ("r1", "n"), ("r3", "s")]:
        body = {"race_id": race_id, "region_id": region}
        await views.put_view(f"race:e:{race_id}", 1, json.dumps(body).encode())
    await views.put_view("race:e2:r9", 1, b'{"race_id":"r9","region_id":"n"}')
    assert [r["race_id"] for r in await region_races(views, "e", "n")] == ["r1", "r2"]
    lines = [{"race_id": r, "region_id": g} for r, g in [("r2", "n"), ("r0", "n"), ("r1", "n")]]
    await views.put_view("races:e", 1, json.dumps({"races": lines}).encode())  # before paging
    assert [r["race_id"] for r in await region_races(views, "e", "n")] == ["r2", "r1"]
    assert await region_races(views, "e", "nowhere") == []


async def test_region_races_read_the_index_and_the_regions_pages_only() -> None:
    """With a paged race list: the region's pages in order (a page not published lists
    nothing), never another group's page."""
    views = MemoryViews()
    for race_id, region in [("r1", "n"), ("r2", "n"), ("r3", "n"), ("r9", "s")]:
        body = {"race_id": race_id, "region_id": region}
        await views.put_view(f"race:e:{race_id}", 1, json.dumps(body).encode())
    groups = [
        {"group": "n", "region_id": "n", "name": "North", "races": 4, "pages": 3},
        {"group": "s", "region_id": "s", "name": "South", "races": 1, "pages": 1},
    ]
    await views.put_view("races:e", 1, json.dumps({"groups": groups}).encode())
    pages = {"races:e:n:0": ["r3", "r0"], "races:e:n:2": ["r1"], "races:e:s:0": ["r9", "r2"]}
    for channel, ids in pages.items():
        doc = {"races": [{"race_id": r, "region_id": channel.split(":")[2]} for r in ids]}
        await views.put_view(channel, 1, json.dumps(doc).encode())
    assert [r["race_id"] for r in await region_races(views, "e", "n")] == ["r3", "r1"]
    assert [r["race_id"] for r in await region_races(views, "e", "s")] == ["r9"]
    assert await region_races(views, "e", "nowhere") == []
