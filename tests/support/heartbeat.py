"""A stand-in aggregate heartbeat for tests that run live without an aggregate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from votewire.aggregate.health import Verdict
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.infra.heartbeat import RedisHeartbeats

OK = Verdict("ok", alive=True, ready=True)


class Pulse:
    """Beats as one healthy worker owning every partition, until `pause()`."""

    def __init__(self, client: aioredis.Redis, prefix: str, interval_s: float = 0.25) -> None:
        self.writer = HeartbeatWriter(
            RedisHeartbeats(client, prefix), interval_s=interval_s, worker="test:pulse"
        )
        self.beating = asyncio.Event()
        self.beating.set()

    def pause(self) -> None:
        self.beating.clear()

    def resume(self) -> None:
        self.beating.set()

    async def run(self) -> None:
        while True:
            await self.beating.wait()
            await self.writer.beat(OK, 1, 1)
            await asyncio.sleep(self.writer.interval_s)  # the beat's period


@contextlib.asynccontextmanager
async def pulse(client: aioredis.Redis, prefix: str) -> AsyncIterator[Pulse]:
    """A `Pulse` beating in the background while the block runs."""
    beat = Pulse(client, prefix)
    task = asyncio.create_task(beat.run())
    try:
        yield beat
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await beat.writer.stop()
