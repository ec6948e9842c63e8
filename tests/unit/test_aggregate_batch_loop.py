"""The ack-after-fold loop: nothing acknowledged before its batch is folded, or if it fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from votewire.aggregate.batch_loop import BatchLoop
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Record


@dataclass
class Message:
    partition: int
    timestamp: float
    headers: Any = ()


@dataclass
class Event:
    key: bytes
    value: bytes
    message: Message


def events(n: int, start: int = 0) -> list[Event]:
    return [Event(b"k", b"%d" % i, Message(i % 3, 100.0)) for i in range(start, start + n)]


async def stream(*batches: Sequence[Event]) -> AsyncIterator[Sequence[Event]]:
    for batch in batches:
        yield batch


async def test_each_batch_is_acknowledged_after_its_fold_in_order() -> None:
    """Acks follow the fold of their batch, every event once, in order; metrics counted."""
    log: list[str] = []

    async def fold(records: list[Record]) -> None:
        log.append("fold " + ",".join(r.value.decode() for r in records if r.value))

    async def ack(event: Event) -> None:
        log.append(f"ack {event.value.decode()}")

    metrics = Metrics()
    loop = BatchLoop("s", fold, ack, metrics, on_failure=lambda _: None, clock=lambda: 101.0)
    await loop.run(stream(events(2), events(1, 2)))
    assert log == ["fold 0,1", "ack 0", "ack 1", "fold 2", "ack 2"]
    assert metrics.counters["events"] == 3 and metrics.counters["batches"] == 2
    assert metrics.record_age["s"].summary()["count"] == 3


async def test_a_failed_fold_acknowledges_nothing_of_its_batch() -> None:
    """A fold that raises calls on_failure with the stage and acks none of the batch."""
    acked: list[Event] = []
    failures: list[str] = []

    async def fold(records: list[Record]) -> None:
        raise RuntimeError("producer gave up")

    async def ack(event: Event) -> None:
        acked.append(event)

    loop = BatchLoop("fold-reports", fold, ack, Metrics(), on_failure=failures.append)
    assert await loop.step(events(3)) is False
    assert acked == [] and failures == ["fold-reports"]


def test_a_record_keeps_the_events_headers() -> None:
    """The sender's header reaches the fold, from aiokafka's tuples or a mapping."""
    from votewire.aggregate.batch_loop import record_of

    pairs = (("votewire-credential", b"desk"),)
    assert record_of(Event(b"k", b"v", Message(2, 1.0, pairs))).headers == pairs
    as_map = Event(b"k", b"v", Message(2, 1.0, {"votewire-credential": b"desk"}))
    assert record_of(as_map) == Record(b"k", b"v", 2, pairs)
    assert record_of(Event(b"k", b"v", Message(2, 1.0, None))).headers == ()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Behind:
    """A `Backlog` the test sets: behind or caught up."""

    def __init__(self, behind: bool = True) -> None:
        self.is_behind = behind

    def behind(self, events: Sequence[Any]) -> bool:
        return self.is_behind


def deferring(
    log: list[str], backlog: Behind, clock: Clock, defer_s: float = 0.25, interval_s: float = 0.0
) -> BatchLoop:
    """A stage-1 style loop: fold and publish apart, acks logged."""

    async def fold(records: list[Record]) -> None:
        log.append("fold " + ",".join(r.value.decode() for r in records if r.value))

    async def publish() -> None:
        log.append("publish")

    async def ack(event: Event) -> None:
        log.append(f"ack {event.value.decode()}")

    return BatchLoop("fold-reports", fold, ack, Metrics(), on_failure=lambda _: None,
                     publish=publish, backlog=backlog, defer_s=defer_s,
                     interval_s=interval_s, monotonic=clock)  # fmt: skip


async def test_a_caught_up_worker_publishes_every_batch_at_once() -> None:
    """No backlog: fold, publish, ack, per batch (deferral costs nothing when on time)."""
    log: list[str] = []
    loop = deferring(log, Behind(False), Clock())
    await loop.run(stream(events(2), events(1, 2)))
    assert log == ["fold 0,1", "publish", "ack 0", "ack 1", "fold 2", "publish", "ack 2"]
    assert loop.pending == 0


async def test_a_worker_behind_publishes_once_for_several_batches_and_acks_only_then() -> None:
    """Behind: batches are folded, not published nor acknowledged, until caught up."""
    log: list[str] = []
    backlog, clock = Behind(True), Clock()
    loop = deferring(log, backlog, clock)
    await loop.step(events(2))
    clock.now = 0.1
    await loop.step(events(1, 2))
    assert log == ["fold 0,1", "fold 2"] and loop.pending == 3
    backlog.is_behind = False
    await loop.step(events(1, 3))
    assert log == ["fold 0,1", "fold 2", "fold 3", "publish", "ack 0", "ack 1", "ack 2", "ack 3"]
    assert loop.metrics.counters["fold-reports_deferred_batches"] == 2
    assert loop.metrics.counters["acknowledged_fold_reports"] == 4


async def test_deferral_is_bounded_by_its_window_even_while_behind() -> None:
    """Still behind once defer_s has passed since the first pending batch: publish."""
    log: list[str] = []
    clock = Clock()
    loop = deferring(log, Behind(True), clock, defer_s=0.25)
    await loop.step(events(1))
    clock.now = 0.25
    await loop.step(events(1, 1))
    assert log == ["fold 0", "fold 1", "publish", "ack 0", "ack 1"]
    clock.now = 0.3
    await loop.step(events(1, 2))  # a new window starts at this batch
    assert log[-1] == "fold 2" and loop.pending == 1


async def test_a_deferred_batch_with_no_successor_is_published_by_the_timer() -> None:
    """Behind, then no batch comes (a fetch stalls): the timer publishes within defer_s."""
    log: list[str] = []
    loop = deferring(log, Behind(True), Clock(), defer_s=0.01)
    await loop.step(events(2))
    assert loop.pending == 2
    await eventually_async(lambda: loop.pending == 0, 5.0)
    assert log == ["fold 0,1", "publish", "ack 0", "ack 1"]
    assert loop.metrics.counters["fold-reports_timer_publications"] == 1


async def test_on_time_a_batch_sooner_than_the_interval_waits_for_its_end() -> None:
    """Caught up, interval 50 ms: the first batch publishes at once; one folded 20 ms
    after that publication waits, and is published with the next one past the interval."""
    log: list[str] = []
    clock = Clock()
    loop = deferring(log, Behind(False), clock, interval_s=0.05)
    await loop.step(events(1))
    assert log == ["fold 0", "publish", "ack 0"]
    clock.now = 0.02
    await loop.step(events(1, 1))
    assert log[-1] == "fold 1" and loop.pending == 1
    clock.now = 0.05
    await loop.step(events(1, 2))
    assert log[4:] == ["fold 2", "publish", "ack 1", "ack 2"]
    clock.now = 1.0  # after a quiet spell: at once again
    await loop.step(events(1, 3))
    assert log[-3:] == ["fold 3", "publish", "ack 3"]


async def test_within_the_interval_the_timer_publishes_if_no_batch_comes() -> None:
    log: list[str] = []
    clock = Clock()
    loop = deferring(log, Behind(False), clock, interval_s=0.05)
    await loop.step(events(1))
    clock.now = 0.01
    await loop.step(events(1, 1))
    assert loop.pending == 1
    await eventually_async(lambda: loop.pending == 0, 5.0)
    assert log == ["fold 0", "publish", "ack 0", "fold 1", "publish", "ack 1"]
    assert loop.metrics.counters["fold-reports_timer_publications"] == 1


async def test_behind_the_longer_of_interval_and_deferral_window_applies() -> None:
    """Behind with defer 250 ms and interval 50 ms: batches wait the deferral window."""
    log: list[str] = []
    clock = Clock()
    loop = deferring(log, Behind(True), clock, defer_s=0.25, interval_s=0.05)
    await loop.step(events(1))  # never published before, but behind: deferred
    clock.now = 0.1
    await loop.step(events(1, 1))
    assert log == ["fold 0", "fold 1"]
    clock.now = 0.25
    await loop.step(events(1, 2))
    assert log[2:] == ["fold 2", "publish", "ack 0", "ack 1", "ack 2"]


async def test_forget_drops_pending_events_unacknowledged() -> None:
    """On revocation the folded, unpublished events are never acknowledged (nor published)."""
    log: list[str] = []
    loop = deferring(log, Behind(True), Clock(), defer_s=0.01)
    await loop.step(events(2))
    loop.forget()
    await asyncio.sleep(0.05)  # past the timer it had armed: it must not fire
    assert log == ["fold 0,1"] and loop.pending == 0


async def test_a_failed_publication_acknowledges_nothing_pending() -> None:
    """A publication that raises calls on_failure; no event folded since the last one is acked."""
    acked: list[Event] = []
    failures: list[str] = []

    async def fold(records: list[Record]) -> None:
        return None

    async def publish() -> None:
        raise RuntimeError("producer gave up")

    async def ack(event: Event) -> None:
        acked.append(event)

    backlog, clock = Behind(True), Clock()
    loop = BatchLoop("fold-reports", fold, ack, Metrics(), on_failure=failures.append,
                     publish=publish, backlog=backlog, defer_s=1.0, monotonic=clock)  # fmt: skip
    assert await loop.step(events(2)) is True  # deferred
    backlog.is_behind = False
    assert await loop.step(events(1, 2)) is False
    assert acked == [] and failures == ["fold-reports"]


async def eventually_async(check: Any, deadline_s: float) -> None:
    """Poll `check()` on the running loop until it holds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.005)  # deadline-poll
