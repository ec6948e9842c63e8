"""The change feed: Redis pub/sub -> hub.

One pattern subscription per live process receives every update message the
aggregate publishes; each is parsed once (channel and seq) and handed to the
hub as the original bytes. If the Redis connection drops, the feed reconnects
with backoff; updates published meanwhile are not lost to clients, because a
client's next update for that channel jumps in seq and the hub's consumers
can resync from the Redis stream (see session.py).
"""

from __future__ import annotations

import asyncio
import json
import logging

import redis.asyncio as aioredis

from services.infra.redis_views import RedisViews
from services.live.hub import Hub

log = logging.getLogger(__name__)


async def run_feed(
    client: aioredis.Redis, views: RedisViews, hub: Hub, ready: asyncio.Event
) -> None:
    """Forward updates until cancelled."""
    delay = 0.1
    while True:
        try:
            async with client.pubsub() as pubsub:
                await pubsub.psubscribe(views.pubsub_pattern)
                ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    frame: bytes = message["data"]
                    head = json.loads(frame)
                    hub.publish(head["channel"], head["seq"], frame)
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
            log.warning("redis feed lost (%s); reconnecting in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
