"""The ack-after-fold loop: nothing acknowledged before its batch is folded, or if it fails."""

from __future__ import annotations

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
