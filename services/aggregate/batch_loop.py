"""The ack-after-fold loop every stage runs: fold a batch, publish, then (only then) acknowledge.

`BatchLoop.run(batches)` takes the batches of a faust stream
(`stream.noack_take`: events not yet acknowledged) and, for each:

1. folds it (`fold(records)`). With no `publish` step, the fold publishes
   its own outputs (stages 2 and 3: `fold_batch`);
2. with a `publish` step (stage 1: `RaceFolder.fold` then `publish`), sends
   what the folded batches changed, once per changed race, unless it may
   *defer* (below);
3. acknowledges every event folded since the last publication, in order,
   so that faust may commit their offsets. Outputs are enqueued on faust's
   producer, which faust flushes before it commits; an event is never
   acknowledged before the outputs of its fold are enqueued, nor in part.
4. records the fold time, the batch size and the records' ages.

Deferral (coalescing under a backlog). A race that changes in ten batches
in a row is rendered and sent ten times when every batch publishes; when
the worker is behind (`backlog.behind(events)`: records past the batch are
already waiting in one of its partitions) that work is wasted, since the
next batch changes the race again. So while behind, publication waits, at
most `defer_s` after the first unpublished batch (then it publishes anyway,
from the next batch or from a timer if none comes). When the worker is
caught up, every batch publishes at once: deferral costs latency only to a
worker that is already late, by at most `defer_s`, and it is what lets a
late worker catch up (a kz-2021 backlog: ~18 reports a batch, 730 races,
nearly one view per report; deferred, a few thousand reports a publication).

Interval (coalescing on time). Even a worker that keeps up publishes at
most once per `interval_s`: a batch folded sooner after the last
publication waits for the rest of the interval (a timer publishes it if no
batch comes). Each publication renders every changed race once and sends
one message per region, so at 2,000 reports/s 10 ms batches cost ~100
publications a second and ~1,500 sends; a 50 ms interval, 20 and ~340, for
at most 50 ms of latency. After a quiet spell (the last publication longer
ago than the interval) a batch publishes at once.

A fold or publication that raises is a bug or an infrastructure failure (the
per-record paths are total): `on_failure(stage)` is called with nothing
pending acknowledged (in production: `crash`, exit at once; a restarted or
surviving worker folds again from the last committed offsets,
idempotently). faust would otherwise restart the agent and could commit
past the failed batch. `forget()` (on revocation) drops pending events
unacknowledged: the partitions' next owner folds them again.
"""

from __future__ import annotations

import asyncio
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


class Backlog(Protocol):
    def behind(self, events: Sequence[Any]) -> bool:
        """Whether records past `events` are already waiting in one of their partitions."""
        ...


class NeverBehind:
    """A `Backlog` that never defers: every batch publishes at once."""

    def behind(self, events: Sequence[Any]) -> bool:
        return False


class BatchLoop:
    """See the module doc. One per stage; `step` and the deferral timer never overlap."""

    def __init__(
        self,
        stage: str,
        fold: Callable[[list[Record]], Awaitable[None]],
        ack: Callable[[Event], Awaitable[Any]],
        metrics: Metrics,
        on_failure: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        *,
        publish: Callable[[], Awaitable[None]] | None = None,
        backlog: Backlog | None = None,
        defer_s: float = 0.0,
        interval_s: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage = stage
        self.fold = fold
        self.ack = ack
        self.metrics = metrics
        self.on_failure = on_failure
        self.clock = clock
        self.publish = publish
        self.backlog = backlog or NeverBehind()
        self.defer_s = defer_s if publish is not None else 0.0
        self.interval_s = interval_s if publish is not None else 0.0
        self.monotonic = monotonic
        self._pending: list[Event] = []
        self._since: float | None = None  # when the first pending batch was folded
        self._published: float | None = None  # when the last publication was
        self._deadline = 0.0  # when deferred events are published at the latest
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._due: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Events folded, not yet published nor acknowledged."""
        return len(self._pending)

    async def run(self, batches: AsyncIterable[Sequence[Event]]) -> None:
        async for batch in batches:
            await self.step(batch)

    async def step(self, events: Sequence[Event]) -> bool:
        """One batch (see the module doc); False if its fold or publication failed
        (nothing pending acknowledged)."""
        async with self._lock:
            started = time.perf_counter()
            try:
                await self.fold([record_of(e) for e in events])
            except Exception:
                self.on_failure(self.stage)
                return False
            self.metrics.batch_took(self.stage, time.perf_counter() - started)
            self._pending.extend(events)
            if self._since is None:
                self._since = self.monotonic()
            if self._may_defer(events):
                self.metrics.count(f"{self.stage}_deferred_batches")
                self._arm_timer()
                return True
            return await self._publish_pending()

    async def drain(self) -> bool:
        """Publish and acknowledge what is pending now, deferred or not (a clean stop);
        False if the publication failed."""
        async with self._lock:
            if not self._pending:
                return True
            return await self._publish_pending()

    def forget(self) -> None:
        """Drop pending events unacknowledged (on revocation) and the deferral timer."""
        self._pending.clear()
        self._since = None
        self._disarm_timer()

    def _may_defer(self, events: Sequence[Event]) -> bool:
        """Whether this batch's publication waits, and until when (`_deadline`): the
        rest of the interval since the last publication, or while behind, the rest of
        `defer_s` since the first pending batch, whichever is later."""
        if self._since is None:
            return False
        now = self.monotonic()
        deadline = now
        if self.interval_s > 0 and self._published is not None:
            deadline = self._published + self.interval_s
        late = self._since + self.defer_s
        if self.defer_s > 0 and late > deadline and self.backlog.behind(events):
            deadline = late
        if deadline <= now:
            return False
        self._deadline = deadline
        return True

    async def _publish_pending(self) -> bool:
        """Publish (if the stage has that step), then acknowledge every pending event."""
        self._disarm_timer()
        if self.publish is not None:
            try:
                await self.publish()
            except Exception:
                self.on_failure(self.stage)
                return False
        events, self._pending, self._since = self._pending, [], None
        self._published = self.monotonic()
        for event in events:
            await self.ack(event)
        self.metrics.count(f"acknowledged_{self.stage.replace('-', '_')}", len(events))
        self.metrics.batch_done(len(events))
        now = self.clock()
        self.metrics.ages(self.stage, [now - e.message.timestamp for e in events])
        return True

    def _arm_timer(self) -> None:
        if self._timer is not None or self._since is None:
            return
        delay = max(0.0, self._deadline - self.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _disarm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        self._due = asyncio.get_running_loop().create_task(self._publish_due())

    async def _publish_due(self) -> None:
        """The timer's publication: no batch came before the deferred ones' deadline."""
        async with self._lock:
            if self._pending:
                self.metrics.count(f"{self.stage}_timer_publications")
                await self._publish_pending()


def record_of(event: Event) -> Record:
    """The stage's `Record` of a faust event (its headers as (key, bytes) pairs: faust
    passes aiokafka's tuple through, or a mapping for some producers)."""
    message = event.message
    headers = message.headers or ()
    if isinstance(headers, Mapping):
        headers = headers.items()
    return Record(event.key, event.value, message.partition, tuple(headers))
