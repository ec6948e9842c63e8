"""faust's aiokafka transport, with two fixes the aggregate depends on.

**Every fetched record reaches the agent (no read-offset filter).** faust's
fetch loop (`Consumer._drain_messages`) remembers the last offset it handed
on per partition and *drops* any record below it; when a record arrives
more than one offset ahead, it declares the offsets between a "gap" and
counts them as acknowledged, so commits move past them. Around a rebalance
that loses records: a fetch issued before faust's seek to the committed
offsets comes back after it, from further ahead (faust-streaming issues
#216 and #221). Seen in our takeover test: committed 436, a stale record at
477 arrived first, 437-476 were declared a gap and committed, and when the
fetch from 436 arrived the records were dropped as already read. The
worker that died had folded them, so the test passed; had it not, they
were lost for good (the kill drills' occasional missing reports).

Here the filter never fires: `_read_offset` answers None to every lookup,
so faust neither drops nor declares gaps. A record fetched twice is folded
twice (the folds are idempotent: duplicates change nothing), records may
come out of order across a seek (the folds are order-insensitive), and a
commit only advances over offsets whose records were acknowledged (faust's
`_new_offset` stops at the first one missing).

**Configurable fetch wait.** faust builds the worker's aiokafka consumer
with `fetch_max_wait_ms=1500`, fixed. aiokafka prefetches: a fetch request
covers only the partitions with no records still buffered, and the broker
holds it until one of *those* partitions gets data or the wait expires.
Records arriving meanwhile on a partition left out of the pending request
(one just drained) wait for that request to come back: up to 1.5 s (e2e
p50 1.5 s at 200 reports/s, 0.2-0.3 s with a 10 ms wait; bench/bench_e2e.py).
A short wait means many more fetches in flight, hence more stale ones
around a rebalance: that is what made the first fix urgent.

**Cheaper delivery.** faust's fetch loop makes four tasks per record to hand
it to the streams; `delivery.drain` makes one, with the same contract
(delivery.py). It requires commits on the timer only (`COMMIT_EVERY_NEVER`,
which the aggregate uses): faust's loop also commits every N acks.

`install(app, fetch_wait_ms)` gives `app` this transport. It refuses to
start the consumer if aiokafka or faust renamed what it adjusts.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from votewire.aggregate.delivery import Aborts, drain

_FETCH_WAIT = "_fetch_max_wait_ms"  # AIOKafkaConsumer's, read by start()
_READ_OFFSET = "_read_offset"  # faust Consumer's, read by _drain_messages
_DRAIN = "_drain_messages"  # faust Consumer's fetch loop, called by its Fetcher
_FETCHING = "FETCHING"  # faust's diagnostic flag while the fetch loop runs

COMMIT_EVERY_NEVER = 1 << 62
"""`broker_commit_every` for commits on the timer only (`broker_commit_interval`)."""


class UnfilteredReadOffsets(dict[Any, int | None]):
    """faust's per-partition read offsets, kept but never used to filter.

    `_drain_messages` drops a record whose offset is below `self[tp]` and
    declares a gap above it; answering None makes it take every record and
    declare nothing. The stored offsets stay readable with `.get`."""

    def __getitem__(self, tp: Any) -> None:
        return None


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_wait_ms: ClassVar[int] = 1500

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, _FETCH_WAIT):
            raise RuntimeError(f"aiokafka has no {_FETCH_WAIT}; cannot set the fetch wait")
        setattr(consumer, _FETCH_WAIT, self.fetch_wait_ms)
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer without the read-offset filter (module doc)."""

    thread_class: ClassVar[type[_ConsumerThread]] = _ConsumerThread

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(getattr(self, _READ_OFFSET, None), dict):
            raise RuntimeError(f"faust's Consumer has no {_READ_OFFSET}; cannot unfilter reads")
        setattr(self, _READ_OFFSET, UnfilteredReadOffsets())
        if not callable(getattr(super(), _DRAIN, None)):
            raise RuntimeError(f"faust's Consumer has no {_DRAIN}; cannot replace its fetch loop")

    async def _drain_messages(self, fetcher: Any) -> None:
        """faust's fetch loop, one task per record (module doc, delivery.py)."""
        if self._commit_every is not None and self._commit_every < COMMIT_EVERY_NEVER:
            raise RuntimeError("the aggregate's fetch loop commits on the timer only")

        def fetching(on: bool) -> None:
            (self.diag.set_flag if on else self.diag.unset_flag)(_FETCHING)

        def should_stop() -> bool:
            return bool(self._stopped.is_set() or fetcher._stopped.is_set() or self.should_stop)

        aborts = Aborts([self.suspend_flow, self._stopped, self._crashed])
        try:
            await drain(
                lambda: self.getmany(timeout=1.0), self.callback, should_stop, aborts, fetching
            )
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Consumer shutting down for user cancel.")

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return self.thread_class(self, loop=self.loop, beacon=self.beacon)


def install(app: faust.App, fetch_wait_ms: int) -> None:
    """Give `app` a transport whose worker consumer takes every record and
    holds empty fetches at most `fetch_wait_ms`."""
    thread = type("ConsumerThread", (_ConsumerThread,), {"fetch_wait_ms": fetch_wait_ms})
    consumer = type("Consumer", (Consumer,), {"thread_class": thread})

    class Transport(faust_aiokafka.Transport):
        pass

    Transport.Consumer = consumer
    app.transport = Transport(app.conf.broker_consumer, app)
