"""The change feed in memory: each change framed once into the hub; reconnects catch up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from votewire.infra.memory_views import MemoryViews
from votewire.live.feed import FeedStatus, run_feed
from votewire.live.hub import Hub
from votewire.live.mailbox import Mailbox
from votewire.live.pacer import Pacer
from votewire.live.protocol import snapshot_frame, update_frame

from tests.support.polling import eventually

C = "race:e:r1"


def _true(check: Callable[[], object]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return bool(check())

    return probe


class Gate:
    """A sleep for the feed's backoff that records each delay and waits for the test."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.open = asyncio.Event()
        self.on_sleep: Callable[[], None] = lambda: None

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.on_sleep()
        await self.open.wait()


async def start(views: MemoryViews, gate: Gate) -> tuple[asyncio.Task[None], Hub, FeedStatus]:
    hub = Hub(frame_once=False)
    status = FeedStatus()
    ready = asyncio.Event()
    task = asyncio.create_task(run_feed(views, Pacer(hub, 0), ready, status, sleep=gate))
    await asyncio.wait_for(ready.wait(), 5)
    return task, hub, status


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_each_change_reaches_the_hub_as_its_update_frame() -> None:
    """Subscribers get the update frame of every change, in seq order, framed once."""
    views, gate = MemoryViews(), Gate()
    task, hub, status = await start(views, gate)
    box = Mailbox()
    hub.subscribe(C, box)
    try:
        await views.put_view(C, 1, b'{"n":1}')
        first = await asyncio.wait_for(box.take(), 5)
        await views.put_view(C, 5, b'{"n":5}')
        second = await asyncio.wait_for(box.take(), 5)
    finally:
        await stop(task)
    changes = await views.updates_since(C, 0) or []
    assert first + second == [update_frame(view) for view in changes]
    assert status.received == 2 and hub.published == 2


async def test_after_a_lost_store_the_feed_resubscribes_and_sends_snapshots() -> None:
    """Changes written while the feed was down never arrive as updates; once back, every
    subscribed channel gets its stored view as a snapshot frame."""
    views, gate = MemoryViews(), Gate()
    await views.put_view(C, 1, b'{"n":1}')
    task, hub, status = await start(views, gate)
    box = Mailbox()
    hub.subscribe(C, box)
    try:
        views.go_down()
        await eventually(_true(lambda: gate.delays), 5, "the feed to see the loss")
        assert not status.connected
        views.come_back()
        await views.put_view(C, 2, b'{"n":2}')  # while the feed is not subscribed
        gate.open.set()
        frames = await asyncio.wait_for(box.take(), 5)
    finally:
        await stop(task)
    stored = await views.get_view(C)
    assert stored is not None and frames == [snapshot_frame(stored)]
    assert (status.connected, status.connects, gate.delays) == (True, 2, [0.1])


async def test_the_backoff_doubles_to_five_seconds_while_the_store_is_down() -> None:
    """0.1 s, doubling, at most 5 s between attempts; the first success resets it."""
    views, gate = MemoryViews(), Gate()
    gate.open.set()
    task, _, status = await start(views, gate)

    def come_back_after_eight() -> None:
        if len(gate.delays) == 8:
            views.come_back()

    gate.on_sleep = come_back_after_eight
    try:
        views.go_down()
        await eventually(_true(lambda: status.connects == 2), 5, "the feed to come back")
    finally:
        await stop(task)
    assert gate.delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
