"""The anomalies channel in memory: a window snapshot, every event unpaced, resume by
seq, and REST pages; on MemoryViews and the memory anomaly feed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send
from votewire.infra.anomaly_feed import MemoryAnomalyFeed
from votewire.infra.memory_views import MemoryViews
from votewire.live.anomalies import SNAPSHOT_ANOMALIES, page_query
from votewire.live.hub import Hub
from votewire.live.pacer import Pacer
from votewire.live.rest import EXCEPTION_HANDLERS, ROUTES
from votewire.live.session import Session

from tests.support.polling import eventually
from tests.unit.test_live_session import Clock, FakeSocket, _true, context

E = "e1"
CHANNEL = f"anomalies:{E}"


def anomaly(n: int) -> dict[str, Any]:
    return {"anomaly_id": f"id-{n}", "election_id": E, "code": "turnout_decreased"}


async def fed(n: int, max_len: int = 10_000) -> tuple[MemoryViews, MemoryAnomalyFeed]:
    views = MemoryViews(feed_maxlen=max_len)
    feed = MemoryAnomalyFeed(views, max_len=max_len)
    await feed.append_many([anomaly(i) for i in range(1, n + 1)])
    return views, feed


async def session_frames(views: MemoryViews, sock: FakeSocket, n: int) -> list[dict[str, Any]]:
    ctx = context(views, Clock())
    task = asyncio.create_task(Session(sock, ctx).run())
    await eventually(_true(lambda: ctx.sessions == 1), 5, "the session")
    frames = await sock.wait_frames(n)
    sock.leave()
    await asyncio.wait_for(task, 5)
    return frames


async def test_the_snapshot_is_the_window_of_newest_anomalies() -> None:
    """Subscribing answers the newest SNAPSHOT_ANOMALIES anomalies, oldest first, at the
    newest seq, with the count of all."""
    views, _ = await fed(SNAPSHOT_ANOMALIES + 20)
    sock = FakeSocket()
    sock.say(type="subscribe", channel=CHANNEL)
    (snapshot,) = await session_frames(views, sock, 1)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == SNAPSHOT_ANOMALIES + 20
    shown = [a["seq"] for a in snapshot["view"]["anomalies"]]
    assert shown == list(range(21, SNAPSHOT_ANOMALIES + 21))
    assert snapshot["view"]["count"] == SNAPSHOT_ANOMALIES + 20
    assert snapshot["view"]["election_id"] == E


async def test_a_resume_replays_exactly_the_missed_anomalies() -> None:
    """Resuming at seq 3 of 6 answers `resumed` with missed 3, then anomalies 4, 5, 6."""
    views, _ = await fed(6)
    epoch = (await views.get_view(CHANNEL)).epoch  # type: ignore[union-attr]
    sock = FakeSocket()
    sock.say(type="subscribe", channel=CHANNEL, resume={"seq": 3, "epoch": epoch})
    ack, *updates = await session_frames(views, sock, 4)
    assert ack["resumed"] is True and ack["missed"] == 3
    assert [u["view"]["anomaly_id"] for u in updates] == ["id-4", "id-5", "id-6"]


def test_the_pacer_passes_every_anomaly_at_once() -> None:
    """At 2 Hz a view channel keeps only the newest of a burst; the anomalies channel
    publishes each of them."""
    hub = Hub(frame_once=False)
    published: list[tuple[str, int]] = []
    hub.publish = lambda c, e, s, f: published.append((c, s)) or 1  # type: ignore[method-assign]
    pacer = Pacer(hub, 2, clock=lambda: 0.0, call_later=lambda *a: None)
    for seq in (1, 2, 3):
        pacer.offer("race:e1:r1", "ep", seq, b"{}")
        pacer.offer(CHANNEL, "ep", seq, b"{}")
    assert published == [("race:e1:r1", 1), (CHANNEL, 1), (CHANNEL, 2), (CHANNEL, 3)]


def rest_app(feed: MemoryAnomalyFeed, views: MemoryViews) -> Starlette:
    ctx = context(views, Clock())
    ctx.anomalies = feed

    def with_context(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("state", {})["live"] = ctx
            await app(scope, receive, send)

        return middleware

    return Starlette(
        routes=ROUTES, middleware=[Middleware(with_context)], exception_handlers=EXCEPTION_HANDLERS
    )


def client(feed: MemoryAnomalyFeed, views: MemoryViews) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=rest_app(feed, views))
    return httpx.AsyncClient(transport=transport, base_url="http://live")


async def test_rest_pages_newest_first_then_back_and_forward() -> None:
    """limit/before/after page the feed; `next` names the following page; a bad query is
    400 bad_request; an election with none answers an empty list."""
    views, feed = await fed(5)
    async with client(feed, views) as http:
        first = (await http.get(f"/v1/elections/{E}/anomalies?limit=2")).json()
        assert [a["seq"] for a in first["anomalies"]] == [5, 4] and first["count"] == 5
        assert first["next"] == "?before=4&limit=2"
        forward = (await http.get(f"/v1/elections/{E}/anomalies?after=2&limit=2")).json()
        assert [a["seq"] for a in forward["anomalies"]] == [3, 4]
        assert forward["next"] == "?after=4&limit=2"
        for query in ("before=-1", "limit=x", "before=2&after=1"):
            bad = await http.get(f"/v1/elections/{E}/anomalies?{query}")
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
        empty = (await http.get("/v1/elections/other/anomalies")).json()
        assert empty == {"anomalies": [], "count": 0, "election_id": "other", "next": None}
        assert (await http.get("/v1/elections/a%20b/anomalies")).status_code == 400
        feed.available = False
        assert (await http.get(f"/v1/elections/{E}/anomalies")).status_code == 503


@pytest.mark.parametrize(
    ("query", "expected"),
    [({}, (None, None, 100)), ({"limit": "9999"}, (None, None, 500)),
     ({"limit": "0", "after": "3"}, (None, 3, 1))],
)  # fmt: skip
def test_page_queries_are_bounded(query: dict[str, str], expected: tuple[Any, ...]) -> None:
    """Limits are clamped to 1-500 (default 100)."""
    assert page_query(query) == expected


async def test_the_rest_page_is_json() -> None:
    """The body built from stored bytes parses as JSON, with the documented headers."""
    views, feed = await fed(2)
    async with client(feed, views) as http:
        answer = await http.get(f"/v1/elections/{E}/anomalies")
    assert json.loads(answer.content)["anomalies"][0]["anomaly_id"] == "id-2"
    assert answer.headers["cache-control"] == "no-cache"
