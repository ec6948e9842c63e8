"""The live service's REST views, ETags and the CSV export, against real views in Redis."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from votewire.config import Settings
from votewire.core.definition_decoder import decode_definition
from votewire.core.publication import opening_publications
from votewire.infra.redis_views import RedisViews

from tests.support.definitions import result_report, tiny_definition
from tests.support.live import ElectionViews, LiveServer, drop_prefix, serve_live
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.integration

E = "tiny-2026"


def turnout_report(
    report_id: str, race_id: str, precinct_id: str, mark: str, n: int
) -> dict[str, Any]:
    return {
        "kind": "turnout",
        "report_id": report_id,
        "election_id": E,
        "race_id": race_id,
        "precinct_id": precinct_id,
        "mark": mark,
        "ballots_cast": n,
        "revision": 1,
        "reported_at": "2026-07-25T10:05:00+06:00",
    }


@pytest.fixture
async def stack() -> AsyncIterator[tuple[ElectionViews, LiveServer, httpx.AsyncClient]]:
    settings: Settings = settings_for(isolated_env("rest"))
    client = aioredis.Redis.from_url(settings.redis_url)
    election = ElectionViews(RedisViews(client, settings.redis_prefix), tiny_definition(E))
    try:
        async with (
            serve_live(settings) as live,
            httpx.AsyncClient(base_url=f"{live.http}/v1/elections/{E}") as http,
        ):
            yield election, live, http
    finally:
        await drop_prefix(client, settings.redis_prefix)
        await client.aclose()


async def test_an_opening_rewritten_at_version_0_gets_a_new_etag(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """The tag names the write: an opening of a corrected definition, still version 0,
    is served (200) to a client holding the first opening's tag, never a 304."""
    election, _, http = stack
    corrected = tiny_definition(E)
    corrected["races"][0]["precincts"].append({"precinct_id": "p4", "name": "№4", "registered": 9})
    for p in opening_publications(election.definition):
        await election.views.put_view(*p)
    first = await http.get("/summary")
    assert first.status_code == 200 and first.json()["precincts_total"] == 3
    for p in opening_publications(decode_definition(corrected)):
        await election.views.put_view(*p)
    again = await http.get("/summary", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
    assert (again.json()["precincts_total"], again.json()["version"]) == (4, 0)


async def test_every_view_endpoint_answers_with_an_etag_and_304(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """summary, regions, races (the index), a race-list page, race, turnout: 200 + ETag, then
    304, then 200 after a change; a page is also `/v1/views/races:E:G:P`."""
    election, live, http = stack
    await election.apply(turnout_report("t1", "r1", "p1", "10:00", 300))
    paths = ["/summary", "/regions/north", "/races", "/race-pages/north/0", "/races/r1",
             "/turnout", "/turnout/north"]  # fmt: skip
    tags = {}
    for path in paths:
        first = await http.get(path)
        assert first.status_code == 200, (path, first.text)
        assert first.headers["cache-control"] == "no-cache"
        assert first.json()["election_id"] == E
        tags[path] = first.headers["etag"]
        again = await http.get(path, headers={"If-None-Match": tags[path]})
        assert again.status_code == 304, path
    await election.apply(result_report("p1r", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10))
    for path in paths:
        changed = await http.get(path, headers={"If-None-Match": tags[path]})
        assert changed.status_code == 200, path
        assert changed.headers["etag"] != tags[path]
    race = (await http.get("/races/r1")).json()
    assert race["candidates"][0]["name"] == "Асқар Б."
    index = (await http.get("/races")).json()
    assert [(g["group"], g["races"], g["pages"]) for g in index["groups"]] == [
        ("north", 1, 1),
        ("west", 1, 1),
    ]
    page = (await http.get("/race-pages/north/0")).json()
    assert [(r["race_id"], r["status"]) for r in page["races"]] == [("r1", "counting")]
    unheard = await http.get("/race-pages/west/0")  # no race of it heard from, no opening
    assert (unheard.status_code, unheard.json()["error"]["code"]) == (404, "no_view")
    async with httpx.AsyncClient() as plain:
        any_view = await plain.get(f"{live.http}/v1/views/races:{E}:north:0")
    assert any_view.json() == page


async def test_rest_position_headers_let_a_client_resume_the_websocket(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """X-Votewire-Seq/Epoch of a REST view are the seq and epoch a snapshot would carry."""
    election, _, http = stack
    await election.apply(turnout_report("t1", "r1", "p1", "10:00", 300))
    await election.apply(turnout_report("t2", "r1", "p2", "10:00", 100))
    got = await http.get("/races/r1")
    assert got.headers["x-votewire-seq"] == "2"
    stored = await election.views.get_view(f"race:{E}:r1")
    assert stored is not None and got.headers["x-votewire-epoch"] == stored.epoch


async def test_errors_are_named(stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient]) -> None:
    """A known race without a view is 404 no_view, a race no loaded election has 404
    unknown_race, ids outside the grammar 400 bad_channel."""
    election, _, http = stack
    await election.register()
    missing = await http.get("/races/r2")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_view")
    for path in ("/races/r9", "/races/r9/precincts", "/races/r9/units"):
        unknown = await http.get(path)
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_race")
    bad = await http.get("/races/r%20x")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_channel")


async def test_an_election_nobody_loaded_is_unknown_and_a_region_it_lacks_too(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """Every path of an election without a definition: 404 unknown_election (a JSON
    error body); of a loaded one: a region it lacks 404 unknown_region, its own region
    and summary, loaded but without a view, 404 no_view."""
    election, live, http = stack
    await election.register()
    async with httpx.AsyncClient(base_url=live.http) as root:
        for path in ("/v1/elections/typo/summary", "/v1/elections/typo/races",
                     "/v1/elections/typo/turnout", "/v1/elections/typo/turnout/north",
                     "/v1/elections/typo/regions/north", "/v1/elections/typo/races/r1",
                     "/v1/elections/typo/results.csv", "/v1/views/summary:typo"):  # fmt: skip
            got = await root.get(path)
            assert got.status_code == 404, path
            assert got.headers["content-type"].startswith("application/json"), path
            assert got.json()["error"]["code"] == "unknown_election", path
    for path in ("/regions/nowhere", "/turnout/nowhere", "/regions/nowhere/results.csv"):
        got = await http.get(path)
        assert (got.status_code, got.json()["error"]["code"]) == (404, "unknown_region"), path
    for path in ("/summary", "/regions/north", "/turnout/west"):
        got = await http.get(path)
        assert (got.status_code, got.json()["error"]["code"]) == (404, "no_view"), path


async def test_the_elections_list_names_the_default(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """/v1/elections lists every election with a national view, with its date; the newest
    is the default."""
    election, live, _ = stack
    await election.apply(turnout_report("t1", "r1", "p1", "10:00", 300))
    async with httpx.AsyncClient() as http:
        body = (await http.get(f"{live.http}/v1/elections")).json()
    assert body["default"] == E
    assert body["elections"][0]["name"] == "Тестовые выборы / Сынақ сайлауы"
    assert body["elections"][0]["test"] is True
    assert body["elections"][0]["date"] == "2026-07-25"


async def test_region_results_csv(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """One row per race x candidate plus against-all and invalid; BOM; ETag; semicolon dialect."""
    election, _, http = stack
    await election.apply(
        result_report("a", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10),
        result_report("b", "r1", "p2", 500, {"c1": 100, "c2": 200}, 20, 5),
    )
    got = await http.get("/regions/north/results.csv")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [(r["race_id"], r["line"], r["candidate_name"], r["votes"]) for r in rows] == [
        ("r1", "candidate", "Асқар Б.", "500"),
        ("r1", "candidate", "Гүлнар Е.", "500"),
        ("r1", "against_all", "", "70"),
        ("r1", "invalid", "", "15"),
    ]
    assert {r["region_name"] for r in rows} == {"Солтүстік"}
    assert {(r["status"], r["outcome"]) for r in rows} == {("complete", "tie")}
    assert got.content.count(b"\r\n") == 5
    same = await http.get(
        "/regions/north/results.csv", headers={"If-None-Match": got.headers["etag"]}
    )
    assert same.status_code == 304
    excel = await http.get("/regions/north/results.csv", params={"delimiter": "semicolon"})
    first = excel.content.decode("utf-8-sig").splitlines()[1].split(";")
    assert first[-2] == "46,08"  # 500 of 1085 ballots, with a decimal comma


async def test_a_race_by_reporting_unit(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """/races/{r}/units?level=region: the race's totals per region that has reported, with
    votes, shares, leader and precincts reporting; a bad level is 400, no result 404."""
    election, _, http = stack
    assert (await http.get("/races/r1/units")).status_code == 404
    await election.apply(result_report("p1-r1", "r1", "p1", 1000, {"c1": 300, "c2": 400}, 50, 10))
    answer = await http.get("/races/r1/units", params={"level": "region"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["level"] == "region"
    (unit,) = body["units"]
    assert (unit["unit_id"], unit["leader"], unit["precincts_reporting"]) == ("north", "c2", 1)
    assert unit["precincts_total"] == 2 and unit["ballots_cast"] == 760
    assert [(c["candidate_id"], c["votes"]) for c in unit["candidates"]] == [
        ("c1", 300), ("c2", 400),
    ]  # fmt: skip
    assert (await http.get("/races/r1/units", params={"level": "ward"})).status_code == 400
    assert (await http.get("/races/r1/units", params={"level": "district"})).status_code == 404


async def test_precinct_results_and_the_national_export_sum_to_the_fold(
    stack: tuple[ElectionViews, LiveServer, httpx.AsyncClient],
) -> None:
    """precincts.csv (one row per precinct that reported), its paged JSON, and results.csv
    (every race and candidate) load with Python's csv module and sum to the race views."""
    election, _, http = stack
    await election.apply(
        result_report("p1-r1", "r1", "p1", 1000, {"c1": 300, "c2": 400}, 50, 10),
        result_report("p2-r1", "r1", "p2", 500, {"c1": 100, "c2": 200}, 10, 5),
        result_report("p3-r1", "r2", "p3", 800, {"c3": 350, "c4": 250}, 20, 5),
    )
    race = (await http.get("/races/r1")).json()
    answer = await http.get("/races/r1/precincts.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r["precinct_id"] for r in rows] == ["p1", "p2"]
    for line in race["candidates"]:
        assert sum(int(r[f"votes_{line['candidate_id']}"]) for r in rows) == line["votes"]
    assert sum(int(r["ballots_cast"]) for r in rows) == race["ballots_cast"]
    assert rows[0]["reported_at"].startswith("2026-") and rows[0]["revision"] == "1"

    paged, cursor = [], 0
    while True:
        page = await http.get("/races/r1/precincts", params={"cursor": cursor, "count": 1})
        body = page.json()
        paged += body["rows"]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert sorted(r["precinct_id"] for r in paged) == ["p1", "p2"]
    assert (await http.get("/races/r1/precincts", params={"count": 0})).status_code == 400

    export = await http.get("/results.csv")
    lines = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert "pct_of_ballots_cast" in lines[0]
    votes = {
        (x["race_id"], x["candidate_id"]): int(x["votes"])
        for x in lines
        if x["line"] == "candidate"
    }
    assert votes[("r1", "c2")] == 600 and votes[("r2", "c3")] == 350
