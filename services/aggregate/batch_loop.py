"""The ack-after-fold loop every stage runs: fold a batch, then (only then) acknowledge it.

`BatchLoop.run(batches)` takes the batches of a faust stream
(`stream.noack_take`: events not yet acknowledged) and, for each:

1. folds it (`fold(records)`: the stage's `fold_batch`; its sends are
   enqueued on faust's producer, which faust flushes before it commits);
2. acknowledges every event of the batch, in order, so that faust may commit
   their offsets; a batch is never acknowledged in part;
3. records the fold time, the batch size and the records' ages.

A fold that raises is a bug or an infrastructure failure (the per-record
paths are total): `on_failure(stage)` is called with no event of the batch
acknowledged (in production: `crash`, exit at once; a restarted or surviving
worker folds again from the last committed offsets, idempotently). faust
would otherwise restart the agent and could commit past the failed batch.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Record


class Message(Protocol):
    @property
    def partition(self) -> int: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def headers(self) -> Any: ...


class Event(Protocol):
    """What the loop reads of a faust event."""

    @property
    def key(self) -> Any: ...
    @property
    def value(self) -> Any: ...
    @property
    def message(self) -> Message: ...


class BatchLoop:
    """See the module doc."""

    def __init__(
        self,
        stage: str,
        fold: Callable[[list[Record]], Awaitable[None]],
        ack: Callable[[Event], Awaitable[Any]],
        metrics: Metrics,
        on_failure: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stage = stage
        self.fold = fold
        self.ack = ack
        self.metrics = metrics
        self.on_failure = on_failure
        self.clock = clock

    async def run(self, batches: AsyncIterable[Sequence[Event]]) -> None:
        async for batch in batches:
            await self.step(batch)

    async def step(self, events: Sequence[Event]) -> bool:
        """One batch (see the module doc); False if its fold failed (nothing acknowledged)."""
        started = time.perf_counter()
        try:
            await self.fold([record_of(e) for e in events])
        except Exception:
            self.on_failure(self.stage)
            return False
        self.metrics.batch_took(self.stage, time.perf_counter() - started)
        for event in events:
            await self.ack(event)
        self.metrics.batch_done(len(events))
        now = self.clock()
        self.metrics.ages(self.stage, [now - e.message.timestamp for e in events])
        return True


def record_of(event: Event) -> Record:
    """The stage's `Record` of a faust event (its headers as (key, bytes) pairs: faust
    passes aiokafka's tuple through, or a mapping for some producers)."""
    message = event.message
    headers = message.headers or ()
    if isinstance(headers, Mapping):
        headers = headers.items()
    return Record(event.key, event.value, message.partition, tuple(headers))
