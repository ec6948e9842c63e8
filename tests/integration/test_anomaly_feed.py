"""The anomaly feed contract (infra/anomaly_feed.py) on memory and the real Redis, and
anomalies reaching a live websocket client and REST once each, through the real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from votewire.config import Settings
from votewire.infra.anomaly_feed import AnomalyFeed, MemoryAnomalyFeed, RedisAnomalyFeed
from votewire.infra.anomaly_writer import AnomalyWriter
from votewire.infra.memory_views import MemoryViews
from votewire.infra.redis_views import RedisViews
from votewire.infra.views import BadChannel, ViewsUnavailable

from tests.support.live import recv_until, serve_live, subscribe
from tests.support.polling import eventually
from tests.support.stack import free_port, settings_for

pytestmark = pytest.mark.integration

E = "tiny-2026"
CHANNEL = f"anomalies:{E}"
MAX_LEN = 5


def anomaly(n: int, election: str = E) -> dict[str, Any]:
    return {"anomaly_id": f"a{n:04d}", "election_id": election, "code": "turnout_decreased",
            "precinct_id": "p1", "message": f"Ақсу №{n}"}  # fmt: skip


class Feed:
    """A feed under test and the views store it writes its channel into."""

    def __init__(self, feed: AnomalyFeed, views: MemoryViews | RedisViews) -> None:
        self.feed = feed
        self.views = views


@pytest.fixture(params=["memory", "redis"])
async def feed(request: pytest.FixtureRequest) -> AsyncIterator[Feed]:
    if request.param == "memory":
        views = MemoryViews()
        yield Feed(MemoryAnomalyFeed(views, max_len=MAX_LEN), views)
        return
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-anomalies"
    redis_views = RedisViews(client, prefix)
    try:
        yield Feed(RedisAnomalyFeed(redis_views, max_len=MAX_LEN), redis_views)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=5000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_each_anomaly_is_appended_once_with_the_next_seq(feed: Feed) -> None:
    """New ids get seq 1, 2, ...; a known id changes nothing and answers its seq."""
    first = await feed.feed.append_many([anomaly(1), anomaly(2), anomaly(1)])
    assert [(a.added, a.seq) for a in first] == [(True, 1), (True, 2), (False, 1)]
    again = await feed.feed.append_many([anomaly(2), anomaly(3)])
    assert [(a.added, a.seq) for a in again] == [(False, 2), (True, 3)]
    page = await feed.feed.page(E)
    assert page.total == 3
    assert [json.loads(d)["seq"] for d in page.items] == [3, 2, 1]
    assert page.items[0].startswith(b'{"seq":3,')
    assert json.loads(page.items[0])["message"] == "Ақсу №3"


async def test_the_feed_is_a_views_store_channel(feed: Feed) -> None:
    """The newest anomaly is the channel's view (version = seq) and the changes after
    a seq are the anomalies after it, so live resumes work unchanged."""
    await feed.feed.append_many([anomaly(n) for n in (1, 2, 3)])
    stored = await feed.views.get_view(CHANNEL)
    assert stored is not None and (stored.seq, stored.version) == (3, 3)
    assert json.loads(stored.doc)["anomaly_id"] == "a0003"
    missed = await feed.views.updates_since(CHANNEL, 1)
    assert missed is not None and [json.loads(v.doc)["seq"] for v in missed] == [2, 3]


async def test_pages_go_back_with_before_and_forward_with_after(feed: Feed) -> None:
    """Newest first by default and with `before`; oldest first with `after`."""
    await feed.feed.append_many([anomaly(n) for n in range(1, 5)])

    async def seqs(**cursor: int) -> list[int]:
        page = await feed.feed.page(E, limit=2, **cursor)
        return [json.loads(d)["seq"] for d in page.items]

    assert await seqs() == [4, 3]
    assert await seqs(before=3) == [2, 1]
    assert await seqs(before=1) == []
    assert await seqs(after=1) == [2, 3]
    assert await seqs(after=4) == []
    assert (await feed.feed.page("nobody-yet")).total == 0


async def test_the_feed_is_capped_but_counts_everything(feed: Feed) -> None:
    """Past `max_len` the oldest are trimmed (Redis: approximately, keeping at least
    max_len); `count` still says how many were ever appended."""
    await feed.feed.append_many([anomaly(n) for n in range(1, 200)])
    page = await feed.feed.page(E, limit=500)
    assert page.total == 199
    assert MAX_LEN <= len(page.items) < 199
    assert json.loads(page.items[0])["seq"] == 199


async def test_a_bad_election_is_refused_before_anything_is_written(feed: Feed) -> None:
    """An election id outside the channel grammar raises BadChannel; nothing is stored."""
    with pytest.raises(BadChannel):
        await feed.feed.append_many([anomaly(1), anomaly(2, election="no good")])
    assert (await feed.feed.page(E)).total == 0


async def test_reads_of_an_unreachable_redis_are_unavailable() -> None:
    """A page read from a Redis nobody answers raises ViewsUnavailable (REST: 503)."""
    client = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1, socket_timeout=1
    )
    try:
        with pytest.raises(ViewsUnavailable):
            await RedisAnomalyFeed(RedisViews(client, "t-down")).page(E)
    finally:
        await client.aclose()


async def test_anomalies_arrive_on_the_channel_and_in_rest_once_each(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    """A subscriber gets the window snapshot, then each new anomaly exactly once, though
    the writer is offered every one three times (a night, a re-fold, a re-delivery);
    REST lists each once, newest first, and pages back."""
    views = RedisViews(redis_client, settings.redis_prefix)
    writer = AnomalyWriter(RedisAnomalyFeed(views))
    for n in (1, 2):
        writer.offer(anomaly(n))
    await writer.stop()
    async with serve_live(settings) as live, websockets.connect(live.ws) as ws:
        first = await subscribe(ws, CHANNEL)
        assert first["type"] == "snapshot" and first["seq"] == 2
        assert [a["anomaly_id"] for a in first["view"]["anomalies"]] == ["a0001", "a0002"]
        assert first["view"]["count"] == 2
        writer = AnomalyWriter(RedisAnomalyFeed(views))
        for _ in range(3):
            for n in range(1, 8):
                writer.offer(anomaly(n))
            await writer.flush()
        got: list[dict[str, Any]] = []
        while len(got) < 5:
            got.append(await recv_until(ws, "update", timeout_s=10))
        assert [(u["seq"], u["view"]["anomaly_id"]) for u in got] == [
            (n, f"a{n:04d}") for n in range(3, 8)
        ]
        await writer.stop()
        assert (writer.written, writer.known) == (5, 2)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_until(ws, "pong"))["type"] == "pong"  # nothing else came meanwhile

        async with httpx.AsyncClient(base_url=live.http) as http:
            listed = (await http.get(f"/v1/elections/{E}/anomalies?limit=4")).json()
            assert listed["count"] == 7 and listed["next"] == "?before=4&limit=4"
            assert [a["seq"] for a in listed["anomalies"]] == [7, 6, 5, 4]
            older = (await http.get(f"/v1/elections/{E}/anomalies{listed['next']}")).json()
            assert [a["seq"] for a in older["anomalies"]] == [3, 2, 1]
            assert older["next"] is None
            ids = [a["anomaly_id"] for a in listed["anomalies"] + older["anomalies"]]
            assert len(ids) == len(set(ids)) == 7
            bad = await http.get(f"/v1/elections/{E}/anomalies?before=x")
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"

        await eventually(
            lambda: _resumed(live.ws, first["epoch"]), 10, "a resume to replay the feed"
        )


async def _resumed(url: str, epoch: str) -> bool:
    """A new connection resuming at seq 4 gets exactly anomalies 5, 6 and 7."""
    async with websockets.connect(url) as ws:
        answer = await subscribe(ws, CHANNEL, seq=4, epoch=epoch)
        assert answer["type"] == "subscribed" and answer["missed"] == 3, answer
        replayed = [await recv_until(ws, "update") for _ in range(3)]
        return [u["view"]["seq"] for u in replayed] == [5, 6, 7]
