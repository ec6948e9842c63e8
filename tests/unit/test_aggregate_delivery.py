"""Handing fetched records to the streams (services/aggregate/delivery.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from votewire.aggregate.delivery import YIELD_EVERY, Aborts, deliver, drain


async def test_every_record_is_delivered_in_fetch_order() -> None:
    got: list[int] = []
    fetches = [list(range(0, 250)), list(range(250, 260))]

    async def records() -> AsyncIterator[tuple[str, int]]:
        for n in fetches.pop(0):
            yield "tp", n

    async def callback(n: int) -> None:
        got.append(n)

    stop = asyncio.Event()
    aborts = Aborts([asyncio.Event(), stop])
    await asyncio.wait_for(drain(records, callback, lambda: not fetches, aborts), 5)
    assert got == list(range(260))
    assert all(w is None for w in aborts._waiters)  # closed: nothing left waiting


async def test_the_watchers_are_made_once_and_reused_until_one_fires() -> None:
    suspend = asyncio.Event()
    aborts = Aborts([suspend, asyncio.Event()])
    first = aborts.futures()
    for _ in range(YIELD_EVERY):
        assert await deliver(asyncio.sleep(0), aborts)
    assert aborts.futures() == first
    suspend.set()
    await asyncio.sleep(0)
    renewed = aborts.futures()
    assert renewed[0] is not first[0] and renewed[1] is first[1]
    aborts.close()
    await asyncio.sleep(0)
    assert first[1].cancelled()


async def test_a_delivery_blocked_when_the_flow_is_suspended_is_cancelled() -> None:
    """As faust: a record waiting on a full queue at a rebalance is dropped (it is
    fetched again after the seek), and the fetch loop is free to go on."""
    suspend, full_queue, reached = asyncio.Event(), asyncio.Event(), asyncio.Event()
    cancelled = []

    async def blocked() -> None:
        reached.set()
        try:
            await full_queue.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    aborts = Aborts([suspend])
    outcome = asyncio.ensure_future(deliver(blocked(), aborts))
    await asyncio.wait_for(reached.wait(), 5)
    assert not outcome.done()
    suspend.set()
    assert await asyncio.wait_for(outcome, 5) is False
    await asyncio.sleep(0)
    assert cancelled == [True]
    # while the flow stays suspended, every delivery is aborted at once
    assert await asyncio.wait_for(deliver(full_queue.wait(), aborts), 5) is False
    aborts.close()


async def test_a_failing_delivery_raises_and_ends_the_loop() -> None:
    delivered: list[int] = []

    async def records() -> AsyncIterator[tuple[str, int]]:
        for n in range(5):
            yield "tp", n

    async def callback(n: int) -> None:
        if n == 2:
            raise ValueError("undecodable")
        delivered.append(n)

    aborts = Aborts([asyncio.Event()])
    with pytest.raises(ValueError, match="undecodable"):
        await asyncio.wait_for(drain(records, callback, lambda: False, aborts), 5)
    assert delivered == [0, 1]
    assert all(w is None for w in aborts._waiters)


async def test_a_stop_requested_before_the_fetch_is_read_delivers_nothing() -> None:
    states = iter([False, True])
    fetched: list[Any] = []

    async def records() -> AsyncIterator[tuple[str, int]]:
        fetched.append(1)
        yield "tp", 1

    async def callback(n: int) -> None:
        raise AssertionError("delivered after the stop")

    flags: list[bool] = []
    await asyncio.wait_for(
        drain(records, callback, lambda: next(states, True), Aborts([]), flags.append), 5
    )
    assert fetched == [] and flags[0] is True and flags[-1] is False
