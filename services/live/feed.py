"""The change feed: the views store's changes -> update frames -> pacer -> hub.

One subscription per live process receives every change the aggregate
writes (`ViewStore.changes`). Each change is framed once, here
(`protocol.update_frame`), and the pacer (pacer.py), then the hub, pass on
those bytes; nothing is framed again per client. Every live process runs its
own feed, so several processes serve the same channels with nothing shared
but the store.

Changes written while the subscription is down never reach it. So after a
*re*-connection the feed re-reads the stored view of every channel someone
is subscribed to and publishes it as a snapshot frame; each mailbox drops it
if its client is already there. Clients thus never stay silently behind
across a Redis blip.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from votewire.live.hub import Hub
from votewire.live.pacer import Pacer
from votewire.live.protocol import snapshot_frame, update_frame
from votewire.live.view_store import ViewStore, ViewsUnavailable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class FeedStatus:
    connected: bool = False
    connects: int = 0
    since: float = 0.0
    """time.monotonic() of the last change of `connected`."""
    received: int = 0


async def catch_up(views: ViewStore, hub: Hub) -> int:
    """Publish the stored view of every subscribed channel (one read); return how many."""
    stored = await views.get_views(hub.channels())
    for channel, view in stored.items():
        hub.publish(channel, view.epoch, view.seq, snapshot_frame(view))
    return len(stored)


async def run_feed(
    views: ViewStore,
    pacer: Pacer,
    ready: asyncio.Event,
    status: FeedStatus | None = None,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Forward changes to the pacer (and on to its hub) until cancelled; re-subscribe
    with backoff (0.1 s doubling to 5 s) while the store is unavailable. `ready` is set
    once the first subscription is active."""
    hub = pacer.hub
    status = status or FeedStatus()
    delay = 0.1
    while True:
        try:
            async with views.changes() as changes:
                status.connected, status.since = True, time.monotonic()
                status.connects += 1
                if status.connects > 1:
                    log.info("views feed back; caught up %d channels", await catch_up(views, hub))
                ready.set()
                delay = 0.1
                async for change in changes:
                    status.received += 1
                    pacer.offer(change.channel, change.epoch, change.seq, update_frame(change))
            reason = "the subscription ended"
        except ViewsUnavailable as exc:
            reason = str(exc)
        status.connected, status.since = False, time.monotonic()
        log.warning("views feed lost (%s); reconnecting in %.1fs", reason, delay)
        await sleep(delay)
        delay = min(delay * 2, 5.0)
