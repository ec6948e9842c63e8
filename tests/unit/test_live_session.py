"""One live connection in memory: admission, its two loops, and its timers."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from votewire.infra.election_registry import MemoryElectionRegistry
from votewire.infra.heartbeat import Freshness, MemoryHeartbeats
from votewire.infra.memory_views import MemoryViews
from votewire.live.access import Access, Reader
from votewire.live.context import LiveContext
from votewire.live.hub import Hub
from votewire.live.known_races import KnownRaces
from votewire.live.limits import ConnectionCounter, LiveLimits
from votewire.live.pacer import Pacer
from votewire.live.pipeline import PipelineWatch
from votewire.live.protocol import update_frame
from votewire.live.session import Session
from votewire.live.watchdog import Watchdog

from tests.support.polling import eventually

C = "race:e:r1"
HOST = "10.0.0.7"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSocket:
    """A websocket connection driven by the test: frames in, frames out, a close."""

    def __init__(self, headers: dict[str, str] | None = None, query: dict[str, str] | None = None):
        self.scope: dict[str, Any] = {}
        self.client = SimpleNamespace(host=HOST)
        self.headers = headers or {}
        self.query_params = query or {}
        self.accepted = False
        self.closed: tuple[int, str | None] | None = None
        self.sent: list[bytes] = []
        self.stuck = False
        """While set, a send blocks (a client that does not read)."""
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def accept(self) -> None:
        self.accepted = True

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)

    async def receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    async def send_bytes(self, data: bytes) -> None:
        if self.stuck:
            await asyncio.Event().wait()  # never returns: the client does not read
        self.sent.append(data)

    def say(self, **frame: Any) -> None:
        self._inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(frame)})

    def leave(self) -> None:
        self._inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(frame) for frame in self.sent]

    async def wait_frames(self, n: int) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            return self.frames() if len(self.sent) >= n else None

        return await eventually(enough, 5, f"{n} frames")


def context(
    views: MemoryViews, clock: Clock, access: Access | None = None, **limits: Any
) -> LiveContext:
    live_limits = LiveLimits(**limits)
    hub = Hub(frame_once=False)
    return LiveContext(
        views,
        hub,
        live_limits,
        access or Access(),
        ConnectionCounter(live_limits.max_connections_per_ip),
        Watchdog(live_limits, clock),
        Pacer(hub, 0),
        PipelineWatch(MemoryHeartbeats(), hub, Freshness(3.0)),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def views() -> MemoryViews:
    store = MemoryViews()
    await store.put_view(C, 1, b'{"n":1}')
    return store


Served = tuple[FakeSocket, LiveContext, Session]


@pytest.fixture
async def served(views: MemoryViews, clock: Clock) -> AsyncIterator[Served]:
    """A running session on a fake socket; the test's clock drives its timers."""
    ctx = context(views, clock, send_deadline_s=5.0, ping_interval_s=15.0, pong_timeout_s=10.0)
    sock = FakeSocket()
    session = Session(sock, ctx, clock)
    task = asyncio.create_task(session.run())
    await eventually(_true(lambda: ctx.sessions == 1), 5, "the session to start")
    yield sock, ctx, session
    sock.leave()
    await asyncio.wait_for(task, 5)


def _true(check: Any) -> Any:
    async def probe() -> bool:
        return bool(check())

    return probe


async def _run(sock: FakeSocket, ctx: LiveContext, clock: Clock) -> None:
    await asyncio.wait_for(Session(sock, ctx, clock).run(), 5)


async def test_refusals_are_accepted_then_closed_with_their_named_code(
    views: MemoryViews, clock: Clock
) -> None:
    """Unknown token and foreign origin: 4003; an address at its limit: 4029. Each is
    counted, and a refused connection holds no slot and no session."""
    digest = hashlib.sha256(b"good").hexdigest()
    access = Access(("https://news.example",), ("race:*",), {digest: Reader("kazinform", ("*",))})
    ctx = context(views, clock, access, max_connections_per_ip=1)
    cases = [
        (FakeSocket({"authorization": "Bearer wrong"}), (4003, "forbidden")),
        (FakeSocket({"origin": "https://evil.example", "host": "x.example"}), (4003, "forbidden")),
    ]
    for sock, expected in cases:
        await _run(sock, ctx, clock)
        assert sock.accepted and sock.closed == expected
    assert ctx.connections.acquire(HOST)  # the address's one connection is taken
    crowded = FakeSocket()
    await _run(crowded, ctx, clock)
    assert crowded.closed == (4029, "too_many_connections")
    assert ctx.closes == {"forbidden": 2, "too_many_connections": 1}
    assert ctx.connections.total() == 1 and ctx.sessions == 0


async def test_snapshot_then_hub_updates_newest_first_never_backwards(
    served: Served, views: MemoryViews
) -> None:
    """A subscriber gets the snapshot, then what the hub hands it: updates arriving faster
    than it is sent collapse into the newest (conflation), and one at or below what it
    was sent is dropped."""
    sock, ctx, session = served
    sock.say(type="subscribe", channel=C)
    (snapshot,) = await sock.wait_frames(1)
    assert (snapshot["type"], snapshot["seq"], snapshot["view"]) == ("snapshot", 1, {"n": 1})
    for n in (2, 3, 4):
        await views.put_view(C, n, b'{"n":%d}' % n)
    feed = await views.updates_since(C, 0) or []
    for view in feed[:3]:  # seq 1 again, then 2 and 3 in one go
        ctx.hub.publish(C, view.epoch, view.seq, update_frame(view))
    assert [(f["type"], f["seq"]) for f in (await sock.wait_frames(2))[1:]] == [("update", 3)]
    assert session.mailbox.conflated == 1
    for view in feed[1:]:  # 2 and 3 again (late copies), then 4
        ctx.hub.publish(C, view.epoch, view.seq, update_frame(view))
    frames = await sock.wait_frames(3)
    assert frames[2] == json.loads(update_frame(feed[3]))
    sock.say(type="unsubscribe", channel=C)
    assert (await sock.wait_frames(4))[-1] == {"type": "unsubscribed", "channel": C}
    assert len(sock.sent) == 4 and ctx.hub.subscriptions() == 0


async def test_a_bad_frame_is_answered_and_the_connection_goes_on(
    served: Served,
) -> None:
    """Garbage, an unknown type, a bad channel: an error frame each, then ping still works."""
    sock, _, _ = served
    sock._inbox.put_nowait({"type": "websocket.receive", "bytes": b"\xff\xfe"})
    sock._inbox.put_nowait({"type": "websocket.receive", "text": "{not json"})
    sock.say(type="shout")
    sock.say(type="subscribe", channel="weather:almaty")
    sock.say(type="ping")
    frames = await sock.wait_frames(5)
    assert [f.get("code") for f in frames[:4]] == [
        "malformed_frame",
        "malformed_frame",
        "unknown_type",
        "unknown_channel",
    ]
    assert frames[4] == {"type": "pong"}
    assert sock.closed is None


async def test_channel_limits_and_private_channels_are_errors_not_closes(
    views: MemoryViews, clock: Clock
) -> None:
    """Past max_channels: too_many_channels; a private channel without a grant: forbidden."""
    ctx = context(views, clock, Access(private=("summary:*",)), max_channels=1)
    sock = FakeSocket()
    task = asyncio.create_task(Session(sock, ctx, clock).run())
    sock.say(type="subscribe", channel=C)
    sock.say(type="subscribe", channel="race:e:r2")
    sock.say(type="subscribe", channel="summary:e")
    frames = await sock.wait_frames(3)
    sock.leave()
    await asyncio.wait_for(task, 5)
    assert frames[0]["type"] == "snapshot"
    assert [(f["code"], f["channel"]) for f in frames[1:]] == [
        ("too_many_channels", "race:e:r2"),
        ("forbidden", "summary:e"),
    ]


async def test_an_unreachable_store_answers_unavailable_and_subscribes_nothing(
    served: Served, views: MemoryViews
) -> None:
    """The views store down at subscribe: an `unavailable` error for that channel, no hub
    registration; once it is back, the same subscribe works."""
    sock, ctx, _ = served
    views.go_down()
    sock.say(type="subscribe", channel=C)
    (error,) = await sock.wait_frames(1)
    assert (error["type"], error["code"], error["channel"]) == ("error", "unavailable", C)
    assert ctx.hub.subscriptions() == 0
    views.come_back()
    sock.say(type="subscribe", channel=C)
    assert (await sock.wait_frames(2))[1]["type"] == "snapshot"
    assert ctx.hub.subscriptions() == 1


async def test_pings_on_the_interval_and_closes_without_a_pong(
    served: Served, clock: Clock
) -> None:
    """Quiet for the ping interval: a ping; a client frame counts as the answer; silence
    for the pong timeout after the next ping: 4001 no_pong."""
    sock, ctx, session = served
    clock.now += 15.0
    ctx.watchdog.check_all()
    assert (await sock.wait_frames(1))[0] == {"type": "ping", "interval_ms": 15000}
    clock.now += 1.0
    sock.say(type="pong")
    await eventually(_true(lambda: session.last_heard == clock.now), 5, "the pong read")
    clock.now += 9.5  # past the pong timeout of the first ping, but it was answered
    ctx.watchdog.check_all()
    assert sock.closed is None
    clock.now += 5.0  # the second ping is due
    ctx.watchdog.check_all()
    await sock.wait_frames(2)
    clock.now += 10.5
    ctx.watchdog.check_all()
    await eventually(_true(lambda: sock.closed is not None), 5, "the close")
    assert sock.closed == (4001, "no_pong")
    await eventually(_true(lambda: ctx.sessions == 0), 5, "the session to end")
    assert ctx.closes["no_pong"] == 1


async def test_a_send_blocked_past_the_deadline_closes_slow_and_leaves_the_hub(
    served: Served, clock: Clock
) -> None:
    """A client that stops reading: after the send deadline, 4008 slow; the connection's
    subscriptions and its slot are given back."""
    sock, ctx, session = served
    sock.stuck = True
    sock.say(type="subscribe", channel=C)
    await eventually(_true(lambda: session.sending_since is not None), 5, "a blocked send")
    clock.now += 4.0
    ctx.watchdog.check_all()
    assert sock.closed is None  # blocked, but not yet for long
    clock.now += 2.0
    ctx.watchdog.check_all()
    await eventually(_true(lambda: sock.closed is not None), 5, "the close")
    assert sock.closed == (4008, "slow")
    await eventually(_true(lambda: ctx.sessions == 0), 5, "the session to end")
    assert ctx.hub.subscriptions() == 0 and ctx.connections.total() == 0


async def test_a_client_that_leaves_is_forgotten(served: Served) -> None:
    """Disconnect: no close frame sent, no subscription, slot or session left."""
    sock, ctx, _ = served
    sock.say(type="subscribe", channel=C)
    await sock.wait_frames(1)
    sock.leave()
    await eventually(_true(lambda: ctx.sessions == 0), 5, "the session to end")
    assert sock.closed is None
    assert ctx.hub.subscriptions() == 0 and ctx.connections.total() == 0


async def test_a_race_no_loaded_election_has_is_unknown_a_silent_one_is_empty(
    views: MemoryViews, clock: Clock
) -> None:
    """With the election registry: a race the loaded election lacks gets
    `unknown_channel`, any channel of an election nobody loaded `unknown_election`, and
    no hub registration; a known race not heard from gets the empty snapshot; a race
    with a view gets its snapshot even if the registry lost it (fail open)."""
    registry = MemoryElectionRegistry()
    await registry.put_races("e", ["r2", "r3"])
    ctx = context(views, clock)
    ctx.known = KnownRaces(registry, views, clock=clock)
    sock = FakeSocket()
    task = asyncio.create_task(Session(sock, ctx, clock).run())
    for channel in ("race:e:bogus", "unit:nope:r2:region.x", "race:e:r2", C):
        sock.say(type="subscribe", channel=channel)
    frames = await sock.wait_frames(4)
    sock.leave()
    await asyncio.wait_for(task, 5)
    assert [(f["type"], f.get("code"), f["channel"]) for f in frames[:2]] == [
        ("error", "unknown_channel", "race:e:bogus"),
        ("error", "unknown_election", "unit:nope:r2:region.x"),
    ]
    assert frames[2] == {"type": "subscribed", "channel": "race:e:r2", "seq": 0, "empty": True}
    assert (frames[3]["type"], frames[3]["channel"]) == ("snapshot", C)  # r1: not in registry


async def test_the_race_list_index_and_its_pages_are_channels(
    served: Served, views: MemoryViews
) -> None:
    """`races:E` (the index) and `races:E:G:P` (a page) are subscribable: a snapshot where
    a view is, the empty answer where none is yet; `races:E:G` and a page number that is
    not one (`01`, `x`) are `unknown_channel`, and the connection goes on."""
    sock, _, _ = served
    await views.put_view("races:e", 3, b'{"groups":[]}')
    await views.put_view("races:e:n:0", 2, b'{"races":[]}')
    for channel in ("races:e", "races:e:n:0", "races:e:-:1", "races:e:n", "races:e:n:01"):
        sock.say(type="subscribe", channel=channel)
    frames = await sock.wait_frames(5)
    assert [(f["type"], f["channel"]) for f in frames[:2]] == [
        ("snapshot", "races:e"),
        ("snapshot", "races:e:n:0"),
    ]
    assert frames[1]["view"] == {"races": []}
    assert frames[2] == {"type": "subscribed", "channel": "races:e:-:1", "seq": 0, "empty": True}
    assert [(f["type"], f.get("code"), f["channel"]) for f in frames[3:]] == [
        ("error", "unknown_channel", "races:e:n"),
        ("error", "unknown_channel", "races:e:n:01"),
    ]


async def test_a_typo_in_the_election_id_is_an_error_not_an_empty_channel(
    views: MemoryViews, clock: Clock
) -> None:
    """summary/races/turnout/region of an election nobody loaded: `unknown_election`; a
    region the loaded election lacks: `unknown_channel`; its own region, loaded but not
    heard from: the empty snapshot."""
    registry = MemoryElectionRegistry()
    await registry.put_regions("e", ["north"])
    await registry.put_races("e", ["r2"])
    ctx = context(views, clock)
    ctx.known = KnownRaces(registry, views, clock=clock)
    sock = FakeSocket()
    task = asyncio.create_task(Session(sock, ctx, clock).run())
    asked = ["summary:typo", "races:typo", "turnout:typo", "region:typo:north",
             "region:e:south", "region:e:north"]  # fmt: skip
    for channel in asked:
        sock.say(type="subscribe", channel=channel)
    frames = await sock.wait_frames(len(asked))
    assert ctx.hub.subscriptions() == 1  # region:e:north only
    sock.leave()
    await asyncio.wait_for(task, 5)
    assert [(f["type"], f.get("code")) for f in frames[:5]] == [
        ("error", "unknown_election")
    ] * 4 + [("error", "unknown_channel")]
    assert frames[5] == {"type": "subscribed", "channel": "region:e:north", "seq": 0, "empty": True}
