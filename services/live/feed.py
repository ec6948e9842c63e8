"""The change feed: Redis pub/sub -> hub.

One pattern subscription per live process receives every update message the
aggregate publishes; the head of each (channel, seq, epoch) is read once and
the pacer (pacer.py), then the hub, get the original bytes. Every live process runs its own feed, so
several processes serve the same channels with nothing shared but Redis.

Pub/sub is fire-and-forget: updates published while the feed is
disconnected never reach it. So after a *re*-connection the feed re-reads
the stored view of every channel someone is subscribed to and publishes it
as a snapshot frame; each mailbox drops it if its client is already there.
Clients thus never stay silently behind across a Redis blip.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from votewire.infra.redis_views import RedisViews
from votewire.live.hub import Hub
from votewire.live.pacer import Pacer

log = logging.getLogger(__name__)

# The aggregate's Lua script writes the head in this order (services/infra/redis_views.py).
_HEAD = re.compile(rb'^\{"type":"update","channel":"([^"]+)","seq":(\d+),"epoch":"([^"]*)"')


@dataclass
class FeedStatus:
    connected: bool = False
    connects: int = 0
    since: float = 0.0
    """time.monotonic() of the last change of `connected`."""
    received: int = 0


def frame_head(frame: bytes) -> tuple[str, int, str]:
    """(channel, seq, epoch) of an update message; ValueError if it is not one."""
    found = _HEAD.match(frame)
    if found:
        return found[1].decode(), int(found[2]), found[3].decode()
    head = json.loads(frame)  # another writer's key order: slower, still exact
    return str(head["channel"]), int(head["seq"]), str(head["epoch"])


async def catch_up(views: RedisViews, hub: Hub) -> int:
    """Publish the stored view of every subscribed channel; return how many."""
    sent = 0
    for channel in hub.channels():
        stored = await views.get_view(channel)
        if stored is not None:
            hub.publish(channel, stored.epoch, stored.seq, stored.snapshot_message())
            sent += 1
    return sent


async def run_feed(
    client: aioredis.Redis,
    views: RedisViews,
    pacer: Pacer,
    ready: asyncio.Event,
    status: FeedStatus | None = None,
) -> None:
    """Forward updates to the pacer (and on to its hub) until cancelled; reconnect with
    backoff if Redis drops."""
    hub = pacer.hub
    status = status or FeedStatus()
    delay = 0.1
    while True:
        try:
            async with client.pubsub() as pubsub:
                await pubsub.psubscribe(views.pubsub_pattern)
                status.connected, status.since = True, time.monotonic()
                status.connects += 1
                if status.connects > 1:
                    log.info("redis feed back; caught up %d channels", await catch_up(views, hub))
                ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    status.received += 1
                    try:
                        channel, seq, epoch = frame_head(message["data"])
                    except (ValueError, KeyError, TypeError):
                        log.error("ignoring a message that is not an update: %.200r", message)
                        continue
                    pacer.offer(channel, epoch, seq, message["data"])
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
            status.connected, status.since = False, time.monotonic()
            log.warning("redis feed lost (%s); reconnecting in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
