"""The walking skeleton: HTTP report -> Kafka -> faust agent -> Redis -> websocket client."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from votewire.launcher import ServiceProcess

from tests.support.definitions import result_report, tiny_definition
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

HOP_DEADLINE_S = 30.0


async def test_posted_report_reaches_a_subscribed_websocket_client(
    deployment: tuple[dict[str, str], dict[str, ServiceProcess]],
) -> None:
    """One result POSTed to ingest arrives, tallied, at a websocket subscriber of its race."""
    env, procs = deployment
    ingest = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    live = f"ws://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}/v1/live"
    async with httpx.AsyncClient(base_url=ingest, timeout=10) as http:
        put = await http.put("/v1/elections/tiny-2026", json=tiny_definition())
        assert put.status_code == 200, put.text
        # Live knows the election's races once the aggregate learnt the definition (it
        # is then listed, at zero counts); before that a race of it is `unknown_channel`.
        listing = f"http://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}/v1/elections"

        async def listed() -> bool | None:
            found = (await http.get(listing)).json()["elections"]
            return any(e["election_id"] == "tiny-2026" for e in found) or None

        await eventually(listed, HOP_DEADLINE_S, "the election listed by live")

        async with websockets.connect(live) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "race:tiny-2026:r1"}))
            first = json.loads(await ws.recv())
            assert first == {
                "type": "subscribed",
                "channel": "race:tiny-2026:r1",
                "seq": 0,
                "empty": True,
            }

            report = result_report("rep-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10)
            posted = await http.post("/v1/reports", json=report)
            assert posted.status_code == 200, posted.text
            assert posted.json()["results"] == [{"status": "accepted", "report_id": "rep-1"}]

            try:
                raw = await asyncio.wait_for(ws.recv(), HOP_DEADLINE_S)
            except TimeoutError:
                dead = [name for name, p in procs.items() if not p.alive()]
                raise AssertionError(
                    f"no update within {HOP_DEADLINE_S}s; dead services: {dead or 'none'}; "
                    f"aggregate log:\n{procs['aggregate'].log_tail()}"
                ) from None

    update = json.loads(raw)
    assert update["type"] == "update"
    assert update["channel"] == "race:tiny-2026:r1"
    assert update["seq"] == 1
    view = update["view"]
    assert view["ballots_cast"] == 760
    assert view["precincts_reporting"] == 1
    assert [(c["candidate_id"], c["votes"]) for c in view["candidates"]] == [
        ("c1", 400),
        ("c2", 300),
    ]
    assert view["against_all"]["votes"] == 50
    assert view["invalid"]["votes"] == 10
