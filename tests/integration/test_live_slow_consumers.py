"""Slow consumers and pacing, against the real Redis with real `websockets` clients:
per-client conflation, the stuck-client deadline, and channel pacing at the source."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
import websockets
from votewire.config import Settings
from votewire.infra.redis_views import RedisViews
from votewire.live.limits import LiveLimits
from websockets.asyncio.client import connect

from tests.support.live import (
    health,
    recv_until,
    register_races,
    serve_live,
    subscribe,
    write_steadily,
)
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

CH = "race:kz-test:r1"


@pytest.fixture
def slow_socket() -> Any:
    """A client socket with a tiny receive buffer, so not reading backs up quickly."""

    def make(port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        return sock

    return make


async def test_a_slow_client_is_conflated_while_a_fast_one_gets_everything_promptly(
    redis_client: aioredis.Redis, settings: Settings, slow_socket: Any
) -> None:
    """One client that stops reading gets the newest view later; the other sees every seq < 1s."""
    views = RedisViews(redis_client, settings.redis_prefix, feed_maxlen=10)
    await register_races(views, "kz-test", "r1")  # known, not heard from: empty snapshots
    limits = LiveLimits(send_deadline_s=60, channel_max_hz=0)  # per-client conflation only
    n, written_at = 150, {}
    async with (
        serve_live(settings, limits) as live,
        connect(live.ws, max_size=None) as fast,
        connect(live.ws, sock=slow_socket(live.port), max_size=None, max_queue=1) as slow,
    ):
        for ws in (fast, slow):
            assert (await subscribe(ws, CH))["empty"] is True
        writer = asyncio.create_task(write_steadily(views, CH, n, 100_000, written_at))
        delays, fast_seqs = [], []
        while len(fast_seqs) < n:
            frame = await recv_until(fast, "update", timeout_s=10)
            delays.append(time.monotonic() - written_at[frame["seq"]])
            fast_seqs.append(frame["seq"])
        await writer
        slow_seqs = []
        while not slow_seqs or slow_seqs[-1] < n:
            slow_seqs.append((await recv_until(slow, "update", timeout_s=30))["seq"])
    assert fast_seqs == list(range(1, n + 1))
    delays.sort()
    assert delays[int(0.99 * len(delays))] < 1.0, delays[-5:]
    assert slow_seqs == sorted(set(slow_seqs)), "a slow client never gets a seq twice or backwards"
    assert len(slow_seqs) < n, "the slow client should have been conflated"


async def test_a_fast_channel_is_paced_to_its_rate_and_its_newest_view_arrives(
    redis_client: aioredis.Redis, settings: Settings
) -> None:
    """200 updates/s on one channel, capped at 4 Hz: every client gets a few, in seq
    order, the last one among them, each within one interval (plus transit) of its write."""
    views = RedisViews(redis_client, settings.redis_prefix, feed_maxlen=10)
    await register_races(views, "kz-test", "r1")  # known, not heard from: empty snapshots
    n, written_at = 300, {}
    async with serve_live(settings, LiveLimits(channel_max_hz=4)) as live, connect(live.ws) as ws:
        assert (await subscribe(ws, CH))["empty"] is True
        started = time.monotonic()
        writer = asyncio.create_task(write_steadily(views, CH, n, 0, written_at, every_s=0.005))
        seqs, delays = [], []
        while not seqs or seqs[-1] < n:
            frame = await recv_until(ws, "update", timeout_s=10)
            seqs.append(frame["seq"])
            delays.append(time.monotonic() - written_at[frame["seq"]])
        await writer
        took = time.monotonic() - started
        paced = (await health(live))["superseded_at_source"]
    assert seqs == sorted(set(seqs))
    assert len(seqs) <= took * 4 + 2, (len(seqs), took)
    assert paced >= n - len(seqs) - 10  # the rest were replaced before their turn
    assert max(delays) < 0.25 + 0.5, delays


async def test_a_stuck_client_is_closed_with_the_slow_code(
    redis_client: aioredis.Redis, settings: Settings, slow_socket: Any
) -> None:
    """A client whose socket accepts nothing past the send deadline is closed 4008 slow."""
    views = RedisViews(redis_client, settings.redis_prefix, feed_maxlen=10)
    await register_races(views, "kz-test", "r1")  # known, not heard from: empty snapshots
    limits = LiveLimits(send_deadline_s=0.5)
    async with (
        serve_live(settings, limits) as live,
        connect(live.ws, sock=slow_socket(live.port), max_size=None, max_queue=1) as stuck,
    ):
        assert (await subscribe(stuck, CH))["empty"] is True
        writer = asyncio.create_task(write_steadily(views, CH, 2000, 100_000, {}))

        async def closed_slow() -> bool:
            return bool((await health(live))["closes"].get("slow"))

        try:
            await eventually(closed_slow, 30, "the server to close the stuck client")
        finally:
            writer.cancel()
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                await asyncio.wait_for(stuck.recv(), 10)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4008, "slow")
