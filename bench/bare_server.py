"""The ceiling of the fan-out benchmark (`bench_fanout.py`): a bare `websockets` server.

It follows the same Redis pub/sub as the live service, frames each change once
as the live service does (`update_frame`) and calls `websockets.broadcast` with
those bytes for the subscribers of its channel: no snapshots, ordering,
conflation, limits or heartbeats. It
is the target of a spawned process, importable as `bench.bare_server`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis
import websockets
from votewire.infra.redis_views import decode_change
from votewire.live.protocol import update_frame

from bench.fanout_clients import raise_fd_limit


def bare_server(port: int, redis_url: str, prefix: str) -> None:
    """Serve until terminated: follow `prefix`'s update pub/sub and broadcast each
    update's bytes to the subscribers of its channel (subscribe frames only)."""
    raise_fd_limit()

    async def run() -> None:
        subscribers: dict[str, set[Any]] = {}

        async def handler(ws: Any) -> None:
            mine: list[str] = []
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame.get("type") == "subscribe":
                        subscribers.setdefault(frame["channel"], set()).add(ws)
                        mine.append(frame["channel"])
                        await ws.send(
                            b'{"type":"subscribed","channel":"%s","seq":0}'
                            % frame["channel"].encode()
                        )
            except websockets.ConnectionClosed:
                pass  # the benchmark's clients leave without a goodbye
            finally:
                for channel in mine:
                    subscribers[channel].discard(ws)

        client = aioredis.Redis.from_url(redis_url)
        async with (
            websockets.serve(
                handler,
                "127.0.0.1",
                port,
                compression=None,
                max_size=None,
                ping_interval=None,
                backlog=4096,
            ),
            client.pubsub() as pubsub,
        ):
            await pubsub.psubscribe(f"{prefix}:chan:*")
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                change = decode_change(message["data"])
                websockets.broadcast(subscribers.get(change.channel, ()), update_frame(change))

    asyncio.run(run())
