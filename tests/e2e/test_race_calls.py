"""A race call through the three services: ingest -> Kafka -> stage 1 -> Redis -> live,
pushed to a subscriber beside the outcome; the call against the count and a refused
report reach the anomaly feed, once each; a retraction."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from votewire.launcher import ServiceProcess

from tests.support.definitions import result_report, tiny_definition
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

DEADLINE_S = 30.0
E = "calls-2026"


async def next_update(ws: Any, channel: str, timeout_s: float = DEADLINE_S) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout_s))
        if frame.get("type") in ("update", "snapshot") and frame.get("channel") == channel:
            view: dict[str, Any] = frame["view"]
            return view


async def test_a_call_reaches_the_race_view_live_and_a_wrong_one_is_an_anomaly(
    deployment: tuple[dict[str, str], dict[str, ServiceProcess]],
) -> None:
    """Call r1 for c2 while c1 leads: subscribers get the call beside a null outcome; when
    the count completes for c1, the call stays and `call_disagrees` is on the anomaly
    feed with who called; a refused report is there too, with its sender; a retraction
    replaces the call. REST lists each anomaly once."""
    env, procs = deployment
    ingest = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    live = f"http://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}"
    channel = f"race:{E}:r1"
    call_path = f"/v1/elections/{E}/races/r1/call"
    async with (
        httpx.AsyncClient(base_url=ingest, timeout=10) as http,
        httpx.AsyncClient(base_url=live, timeout=10) as rest,
    ):
        assert (await http.put(f"/v1/elections/{E}", json=tiny_definition(E))).status_code == 200
        first = result_report("p1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10, election_id=E)
        assert (await http.post("/v1/reports", json=first)).status_code == 200

        async with websockets.connect(f"ws://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}/v1/live") as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": channel}))
            try:
                view = await next_update(ws, channel)
                while view["precincts_reporting"] < 1:
                    view = await next_update(ws, channel)
                called = await http.post(
                    call_path, json={"type": "winner", "candidate_ids": ["c2"], "note": "desk"}
                )
                assert called.status_code == 200, called.text
                while view.get("call") is None:
                    view = await next_update(ws, channel)
            except TimeoutError:
                raise AssertionError(
                    f"no call within {DEADLINE_S}s; aggregate log:\n{procs['aggregate'].log_tail()}"
                ) from None
        assert view["call"]["candidate_ids"] == ["c2"] and view["call"]["called_by"] == "dev-open"
        assert view["status"] == "counting" and view["outcome"] is None

        last = result_report("p2", "r1", "p2", 500, {"c1": 200, "c2": 100}, 20, 5, election_id=E)
        assert (await http.post("/v1/reports", json=last)).status_code == 200
        bad = {**result_report("bad", "r1", "p2", 500, {"c1": 1}, 0, 0, election_id=E),
               "ballots_cast": 7}  # fmt: skip
        assert (await http.post("/v1/reports", json=bad)).status_code == 422

        async def anomalies() -> dict[str, Any] | None:
            page = (await rest.get(f"/v1/elections/{E}/anomalies")).json()
            codes = {a["code"] for a in page["anomalies"]}
            return page if {"call_disagrees", "sum_mismatch"} <= codes else None

        page = await eventually(anomalies, DEADLINE_S, "the call and the refusal as anomalies")
        by_code = {a["code"]: a for a in page["anomalies"]}
        assert by_code["call_disagrees"]["sender"] == "dev-open"
        assert by_code["call_disagrees"]["race_name"] == "Ақсу ауылы"
        refused = by_code["sum_mismatch"]
        assert (refused["sender"], refused["precinct_id"], refused["stage"]) == (
            "dev-open", "p2", "ingest",
        )  # fmt: skip
        assert len({a["anomaly_id"] for a in page["anomalies"]}) == len(page["anomalies"])

        race = (await rest.get(f"/v1/elections/{E}/races/r1")).json()
        assert race["status"] == "complete" and race["outcome"]["candidate_ids"] == ["c1"]
        assert race["call"]["candidate_ids"] == ["c2"]

        assert (await http.delete(call_path)).status_code == 200

        async def retracted() -> bool:
            found = (await rest.get(f"/v1/elections/{E}/races/r1")).json()
            return bool(found["call"]["type"] == "retracted")

        await eventually(retracted, DEADLINE_S, "the retraction in the race view")

        async def listed() -> bool:
            page = (await rest.get(f"/v1/elections/{E}/race-pages/north/0")).json()
            return any(r["race_id"] == "r1" and r["call"] == "retracted" for r in page["races"])

        await eventually(listed, DEADLINE_S, "the race list to follow its race")
