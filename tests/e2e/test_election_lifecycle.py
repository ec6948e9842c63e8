"""An election's lifecycle through the three services: loaded, shown at once with zero
counts, its races told from races that do not exist, retired (hidden, refusing reports,
its views kept), and un-retired."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from votewire.cli import main
from votewire.launcher import ServiceProcess

from tests.integration.test_ingest_harness import decoded, read_to_end
from tests.support.definitions import result_report, tiny_definition
from tests.support.polling import eventually
from tests.support.stack import settings_for

pytestmark = pytest.mark.e2e

E = "life-2026"
DEADLINE_S = 30.0


async def _listed(live: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    answer = (await live.get("/v1/elections")).json()
    return {e["election_id"]: e for e in answer["elections"]}


async def _subscribe(url: str, channel: str) -> dict[str, Any]:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
        frame: dict[str, Any] = json.loads(await ws.recv())
        return frame


async def _next_update(ws: Any) -> dict[str, Any]:
    """The next `update` frame (pings answered, other frames skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif frame["type"] == "update":
            return frame


async def test_load_show_at_zero_retire_and_unretire(
    deployment: tuple[dict[str, str], dict[str, ServiceProcess]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole lifecycle, each step as a reader or a commission sees it."""
    env, _ = deployment
    ingest_url = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    live_url = f"http://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}"
    ws_url = f"ws://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}/v1/live"
    async with (
        httpx.AsyncClient(base_url=ingest_url, timeout=10) as ingest,
        httpx.AsyncClient(base_url=live_url, timeout=10) as live,
    ):
        put = await ingest.put(f"/v1/elections/{E}", json=tiny_definition(E))
        assert put.status_code == 200, put.text

        async def shown() -> dict[str, Any] | None:
            return (await _listed(live)).get(E)

        listed = await eventually(shown, DEADLINE_S, "the loaded election in /v1/elections")
        assert (listed["precincts_reporting"], listed["precincts_total"]) == (0, 3)
        assert (listed["version"], listed["date"]) == (0, "2026-07-25")
        north = await live.get(f"/v1/elections/{E}/regions/north")
        assert north.status_code == 200 and north.json()["precincts_total"] == 2

        # A race or region the election lacks, or an election nobody loaded, against a
        # race that exists but is silent.
        assert await _subscribe(ws_url, f"race:{E}:bogus") == {
            "type": "error",
            "code": "unknown_channel",
            "message": "no loaded election has this race",
            "channel": f"race:{E}:bogus",
        }
        assert (await _subscribe(ws_url, f"region:{E}:nowhere"))["code"] == "unknown_channel"
        for channel in ("unit:nope-2026:r1:region.north", "summary:nope-2026"):
            assert (await _subscribe(ws_url, channel))["code"] == "unknown_election"
        typo = await live.get("/v1/elections/nope-2026/summary")
        assert (typo.status_code, typo.json()["error"]["code"]) == (404, "unknown_election")
        silent = await _subscribe(ws_url, f"race:{E}:r1")
        assert silent == {"type": "subscribed", "channel": f"race:{E}:r1", "seq": 0, "empty": True}
        bogus = await live.get(f"/v1/elections/{E}/races/bogus")
        assert (bogus.status_code, bogus.json()["error"]["code"]) == (404, "unknown_race")
        quiet = await live.get(f"/v1/elections/{E}/races/r1")
        assert (quiet.status_code, quiet.json()["error"]["code"]) == (404, "no_view")

        report = result_report("life-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10,
                               election_id=E)  # fmt: skip
        assert (await ingest.post("/v1/reports", json=report)).status_code == 200

        async def counted() -> dict[str, Any] | None:
            found = (await _listed(live)).get(E)
            return found if found and found["precincts_reporting"] == 1 else None

        await eventually(counted, DEADLINE_S, "the report counted in the listing")

        assert main(["election", "retire", E, "--url", ingest_url]) == 0
        assert f"{E} retired at " in capsys.readouterr().out

        async def hidden() -> bool | None:
            return E not in await _listed(live) or None

        await eventually(hidden, DEADLINE_S, "the retired election hidden from /v1/elections")
        late = result_report("life-2", "r1", "p2", 500, {"c1": 100, "c2": 200}, 0, 0,
                             election_id=E)  # fmt: skip
        refused = await ingest.post("/v1/reports", json=late)
        assert refused.status_code == 422
        [problem] = refused.json()["results"][0]["problems"]
        assert (problem["code"], problem["field"]) == ("election_retired", "election_id")
        settings = settings_for(env)
        letters = decoded(await read_to_end(settings.kafka_bootstrap, settings.dead_letter_topic))
        assert [v["reason"] for _, v in letters if v.get("report_id") == "life-2"] == [
            "election_retired"
        ]
        # Kept for audit: every view stays readable by channel.
        race = await live.get(f"/v1/elections/{E}/races/r1")
        assert race.status_code == 200 and race.json()["precincts_reporting"] == 1
        summary = await live.get(f"/v1/views/summary:{E}")
        assert summary.status_code == 200 and summary.json()["precincts_reporting"] == 1

        assert main(["election", "retire", E, "--url", ingest_url, "--undo"]) == 0
        assert f"{E} is active" in capsys.readouterr().out
        await eventually(shown, DEADLINE_S, "the election listed again")
        assert (await ingest.post("/v1/reports", json=late)).status_code == 200
        assert main(["election", "retire", "nope-2026", "--url", ingest_url]) == 1


async def test_a_definition_corrected_before_any_report_shows_its_own_opening(
    deployment: tuple[dict[str, str], dict[str, ServiceProcess]],
) -> None:
    """Loaded, corrected and reloaded before any report: the opening views (REST and a
    subscriber already following them) show the second definition; after a report, a
    reload rewrites only the views still at their opening, never a view heard from."""
    env, _ = deployment
    e = "fix-2026"
    ingest_url = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    live_url = f"http://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}"
    ws_url = f"ws://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}/v1/live"
    first = tiny_definition(e)
    corrected = tiny_definition(e)
    corrected["races"][0]["precincts"].append(
        {"precinct_id": "p4", "name": "№4", "registered": 300}
    )
    async with (
        httpx.AsyncClient(base_url=ingest_url, timeout=10) as ingest,
        httpx.AsyncClient(base_url=live_url, timeout=10) as live,
    ):
        assert (await ingest.put(f"/v1/elections/{e}", json=first)).status_code == 200

        async def summary() -> dict[str, Any] | None:
            got = await live.get(f"/v1/elections/{e}/summary")
            return got.json() if got.status_code == 200 else None

        opened = await eventually(summary, DEADLINE_S, "the first opening")
        assert (opened["precincts_total"], opened["registered"], opened["version"]) == (3, 2300, 0)
        async with websockets.connect(ws_url) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": f"summary:{e}"}))
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot" and snapshot["view"]["precincts_total"] == 3
            assert (await ingest.put(f"/v1/elections/{e}", json=corrected)).status_code == 200
            pushed = await asyncio.wait_for(_next_update(ws), DEADLINE_S)
        assert (pushed["type"], pushed["version"], pushed["seq"]) == (
            "update",
            0,
            snapshot["seq"] + 1,
        )
        assert (pushed["view"]["precincts_total"], pushed["view"]["registered"]) == (4, 2600)
        now = await summary()
        assert now is not None and (now["precincts_total"], now["registered"]) == (4, 2600)
        north = (await live.get(f"/v1/elections/{e}/regions/north")).json()
        assert (north["precincts_total"], north["version"]) == (3, 0)

        report = result_report("fix-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10,
                               election_id=e)  # fmt: skip
        assert (await ingest.post("/v1/reports", json=report)).status_code == 200

        async def counted() -> dict[str, Any] | None:
            found = await summary()
            return found if found and found["precincts_reporting"] == 1 else None

        heard = await eventually(counted, DEADLINE_S, "the report in the summary")
        again = tiny_definition(e)
        again["races"][0]["precincts"] = corrected["races"][0]["precincts"]
        again["races"][1]["precincts"].append(
            {"precinct_id": "p5", "name": "№5", "registered": 100}
        )
        assert (await ingest.put(f"/v1/elections/{e}", json=again)).status_code == 200

        async def west_corrected() -> dict[str, Any] | None:
            west = (await live.get(f"/v1/elections/{e}/regions/west")).json()
            return west if west["precincts_total"] == 2 else None

        west = await eventually(west_corrected, DEADLINE_S, "the silent region's new opening")
        assert west["version"] == 0
        after = await summary()
        assert after is not None and after["version"] >= 1 and after["precincts_reporting"] == 1
        assert after["version"] >= heard["version"]
