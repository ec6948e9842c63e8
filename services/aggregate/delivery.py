"""Handing fetched records to faust's streams, one task per record instead of four.

faust's fetch loop (`Consumer._drain_messages`) delivers each record with
`wait_first(callback(message), suspend_flow.wait())`: mode's `wait_first`
wraps the delivery *and* three watchers (flow suspended, service stopped,
service crashed) in new tasks, waits for the first, then cancels the other
three. Four tasks made and three cancelled per record, in the event loop
every stage shares: about a sixth of the worker's CPU at 2,000 reports/s
(py-spy, docs/aggregate.md "Performance").

`drain(consumer, fetcher)` is the same loop with the same contract, built on
`Aborts`: the watchers are made once and reused until one fires, so a record
costs one task (its delivery) and one `asyncio.wait`:

- a record is delivered to the conductor's callback (which puts it on the
  streams' queues, waiting while a queue is full or the flow is held);
- if the flow is suspended (a rebalance), or the consumer stops or crashes,
  before the delivery completes, the delivery is cancelled: the record is
  dropped, as faust drops it, and fetched again after the seek that follows;
- an exception raised by the delivery ends the loop, as in faust (the
  Fetcher logs it and the worker stops);
- every 100 records the loop yields to the event loop, as faust's does.

The read-offset bookkeeping faust keeps here is not kept: the aggregate's
transport never filters on read offsets (transport.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

YIELD_EVERY = 100


class Flag(Protocol):
    """An asyncio-style event: what faust's consumer has for suspend, stop and crash."""

    def is_set(self) -> bool: ...

    async def wait(self) -> Any: ...


class Aborts:
    """One waiter per flag, reused across deliveries until it fires.

    `futures()` are the waiters to race a delivery against; a waiter that
    fired (its flag was set) is replaced on the next call, so a flag that
    stays set aborts every later delivery at once, like a fresh `wait()`."""

    def __init__(self, flags: Sequence[Flag]) -> None:
        self.flags = list(flags)
        self._waiters: list[asyncio.Future[Any] | None] = [None] * len(self.flags)

    def futures(self) -> list[asyncio.Future[Any]]:
        out = []
        for i, flag in enumerate(self.flags):
            waiter = self._waiters[i]
            if waiter is None or waiter.done():
                waiter = self._waiters[i] = asyncio.ensure_future(flag.wait())
            out.append(waiter)
        return out

    def close(self) -> None:
        for waiter in self._waiters:
            if waiter is not None and not waiter.done():
                waiter.cancel()
        self._waiters = [None] * len(self.flags)


async def deliver(delivery: Awaitable[Any], aborts: Aborts) -> bool:
    """Run `delivery` until it completes (True) or an abort flag fires first (False:
    the delivery is cancelled). The delivery's exception is raised."""
    task = asyncio.ensure_future(delivery)
    await asyncio.wait([task, *aborts.futures()], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
        return True
    task.cancel()
    return False


async def drain(
    fetch: Callable[[], Any],
    callback: Callable[[Any], Awaitable[Any]],
    should_stop: Callable[[], bool],
    aborts: Aborts,
    on_fetching: Callable[[bool], None] = lambda fetching: None,
) -> None:
    """Deliver every record `fetch()` (an async iterator of `(tp, message)`) yields
    until `should_stop()`; see the module doc."""
    since_yield = 0
    try:
        while not should_stop():
            on_fetching(True)
            records = fetch()
            await asyncio.sleep(0)  # getmany may not yield in a busy loop
            if not should_stop():
                async for _tp, message in records:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    await deliver(callback(message), aborts)
            on_fetching(False)
    finally:
        on_fetching(False)
        aborts.close()
