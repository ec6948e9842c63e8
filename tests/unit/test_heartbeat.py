"""The aggregate heartbeat: what writers put, and when readers call the pipeline stale."""

from __future__ import annotations

import redis.asyncio as aioredis
from votewire.aggregate.health import Verdict
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.infra.heartbeat import FORGET_AFTER_S, Beat, Freshness, MemoryHeartbeats

OK = Verdict("ok", alive=True, ready=True)
RECOVERING = Verdict("recovering", alive=True, ready=False)


class Clocks:
    """A monotonic and a wall clock that move together."""

    def __init__(self) -> None:
        self.mono, self.wall = 50.0, 1_800_000_000.0

    def tick(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


def beat(clocks: Clocks, worker: str = "a:1", status: str = "ok", owned: int = 6) -> bytes:
    return Beat(worker, clocks.wall, status, 0, owned, 6).encode()


def test_fresh_while_beating_stale_once_the_beat_stops_live_when_it_resumes() -> None:
    """Stale exactly when a beat has not changed for stale_after_s, live again on the next."""
    clocks = Clocks()
    reader = Freshness(3.0, lambda: clocks.mono, lambda: clocks.wall)
    for _ in range(10):
        assert reader.observe({"a:1": beat(clocks)}).state == "live"
        clocks.tick(1.0)
    last = {"a:1": beat(clocks)}
    assert reader.observe(last).state == "live"
    clocks.tick(3.0)
    assert reader.observe(last).state == "live"
    clocks.tick(0.5)
    stale = reader.observe(last)
    assert (stale.state, stale.reason, stale.workers) == ("stale", "no_heartbeat", 0)
    assert stale.last_beat_at == clocks.wall - 3.5
    assert reader.observe({"a:1": beat(clocks)}).state == "live"


def test_a_reader_started_after_the_aggregate_died_is_stale_at_once() -> None:
    """On first sight, a beat already older than stale_after_s is not fresh."""
    clocks = Clocks()
    old = beat(clocks)
    clocks.tick(60)
    reader = Freshness(3.0, lambda: clocks.mono, lambda: clocks.wall)
    assert reader.observe({"a:1": old}).reason == "no_heartbeat"
    assert reader.observe({}).reason == "no_heartbeat"


def test_a_silent_worker_matters_until_its_partitions_are_taken_over() -> None:
    """Two workers own 3 + 3 of 6; one is killed: stale ("partitions_unowned") until the
    survivor reports owning all 6, whatever the dead one's field still says."""
    clocks = Clocks()
    reader = Freshness(3.0, lambda: clocks.mono, lambda: clocks.wall)
    dead = beat(clocks, "b:2", owned=3)
    assert reader.observe({"a:1": beat(clocks, owned=3), "b:2": dead}).state == "live"
    clocks.tick(4)
    found = reader.observe({"a:1": beat(clocks, owned=3), "b:2": dead})
    assert (found.state, found.reason, found.workers) == ("stale", "partitions_unowned", 1)
    clocks.tick(1)
    survivor = beat(clocks, status="recovering", owned=6)
    assert reader.observe({"a:1": survivor, "b:2": dead}).reason == "aggregate_recovering"
    clocks.tick(1)
    assert reader.observe({"a:1": beat(clocks, owned=6), "b:2": dead}).state == "live"


def test_an_unreadable_beat_is_stale_not_an_error() -> None:
    """A field that is not a beat makes the pipeline stale ("bad_heartbeat")."""
    clocks = Clocks()
    reader = Freshness(3.0, lambda: clocks.mono, lambda: clocks.wall)
    assert reader.observe({"a:1": b"{not json"}).reason == "bad_heartbeat"


async def test_the_writer_beats_drops_long_silent_fields_and_leaves_on_stop() -> None:
    """Each beat rewrites this worker's field and deletes fields silent for FORGET_AFTER_S;
    stop() deletes its own."""
    clocks = Clocks()
    store = MemoryHeartbeats()
    ancient = Beat("old:9", clocks.wall - FORGET_AFTER_S - 1, "ok", 0, 6, 6)
    recent = Beat("other:3", clocks.wall - 30, "ok", 0, 3, 6)
    await store.put(ancient)
    await store.put(recent)
    store.fields["garbled:4"] = b"?"
    writer = HeartbeatWriter(store, interval_s=1, worker="me:1", wall=lambda: clocks.wall)
    assert await writer.beat(RECOVERING, owned=3, of=6)
    assert set(store.fields) == {"me:1", "other:3", "garbled:4"}
    mine = Beat.decode(store.fields["me:1"])
    assert (mine.status, mine.owned, mine.of, mine.at) == ("recovering", 3, 6, clocks.wall)
    await writer.stop()
    assert set(store.fields) == {"other:3", "garbled:4"}


async def test_a_beat_redis_refuses_is_reported_not_raised() -> None:
    """Redis down: beat() answers False and the next beat tries again."""

    class Down(MemoryHeartbeats):
        async def put(self, beat: Beat) -> None:
            raise aioredis.ConnectionError("refused")

    writer = HeartbeatWriter(Down(), interval_s=1, worker="me:1")
    assert not await writer.beat(OK, 1, 1)
    assert not await writer.beat(OK, 1, 1)
    assert writer.failing and writer.beats == 0
