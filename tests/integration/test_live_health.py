"""Live's health follows the aggregate's heartbeat in the real Redis: degraded when it stops,
ok when it resumes; readers subscribed to status:pipeline are told; /metrics parses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from votewire.config import Settings
from websockets.asyncio.client import connect

from tests.support.heartbeat import pulse
from tests.support.live import recv_until, send_json, serve_live
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

DEADLINE_S = 20


async def health_status(http: httpx.AsyncClient, want: str) -> dict[str, Any] | None:
    answer = await http.get("/healthz")
    body: dict[str, Any] = answer.json()
    return body if body["status"] == want else None


async def test_healthz_degrades_when_the_heartbeat_stops_and_recovers_when_it_resumes(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """No heartbeat: 503 degraded, yet ready (it still serves); beating: 200 ok; paused:
    degraded again, with the time of the last beat; resumed: ok."""
    async with serve_live(settings) as live, httpx.AsyncClient(base_url=live.http) as http:
        first = (await http.get("/healthz")).json()
        assert first["status"] == "degraded" and first["pipeline"]["reason"] == "no_heartbeat"
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/livez")).status_code == 200
        async with pulse(redis_client, settings.redis_prefix) as beat:
            await eventually(lambda: health_status(http, "ok"), DEADLINE_S, "ok while beating")
            assert (await http.get("/healthz")).status_code == 200
            beat.pause()
            down = await eventually(
                lambda: health_status(http, "degraded"), DEADLINE_S, "degraded once paused"
            )
            assert down["pipeline"]["reason"] == "no_heartbeat"
            assert down["pipeline"]["last_beat_at"] is not None
            assert (await http.get("/healthz")).status_code == 503
            assert (await http.get("/readyz")).status_code == 200
            beat.resume()
            await eventually(lambda: health_status(http, "ok"), DEADLINE_S, "ok once resumed")


async def test_subscribers_of_status_pipeline_hear_each_change(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """A snapshot on subscribe, then one update per change of state: live, stale, live."""
    async with (
        serve_live(settings) as live,
        connect(live.ws) as ws,
        pulse(redis_client, settings.redis_prefix) as beat,
    ):
        async with httpx.AsyncClient(base_url=live.http) as http:
            await eventually(lambda: health_status(http, "ok"), DEADLINE_S, "beating")
        await send_json(ws, type="subscribe", channel="status:pipeline")
        snapshot = await recv_until(ws, "snapshot")
        assert snapshot["view"]["state"] == "live" and snapshot["view"]["workers"] == 1
        beat.pause()
        stale = await recv_until(ws, "update", timeout_s=DEADLINE_S)
        assert stale["view"]["state"] == "stale" and stale["seq"] == snapshot["seq"] + 1
        beat.resume()
        back = await recv_until(ws, "update", timeout_s=DEADLINE_S)
        assert back["view"]["state"] == "live" and back["epoch"] == snapshot["epoch"]


async def test_metrics_parse_as_prometheus_text(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """/metrics is Prometheus text: connections, frames by path, closes, pipeline state."""
    async with serve_live(settings) as live, connect(live.ws) as ws:
        await send_json(ws, type="subscribe", channel="status:pipeline")
        await recv_until(ws, "snapshot")
        async with httpx.AsyncClient(base_url=live.http) as http:
            answer = await http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    p = "votewire_live_"
    assert found[(p + "connections", ())] == 1
    assert found[(p + "subscriptions", ())] == 1
    assert found[(p + "frames_sent_total", (("path", "writer"),))] >= 1
    assert (p + "frames_sent_total", (("path", "direct"),)) in found
    assert found[(p + "pipeline_stale", ())] == 1  # nobody beats in this test
    assert found[(p + "feed_connected", ())] == 1
    assert ("process_cpu_seconds_total", ()) in found
