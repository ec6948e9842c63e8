"""The live service's composition root: `create_app(settings)`.

Settings are checked first (a bad tokens file fails here, naming the
variable). The lifespan opens the Redis client, starts the change feed
(the views store's changes -> hub) and waits until it is subscribed, so a client
accepted after start-up cannot miss an update between its snapshot and the
feed; it also starts the watch on the aggregate's heartbeat (pipeline.py).
Routes: `/v1/live` (websocket, session.py), the REST views (rest.py), the
probes and metrics (probes.py), and the dashboard's static files at `/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypedDict

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from votewire.config import Settings
from votewire.infra.anomaly_feed import RedisAnomalyFeed
from votewire.infra.heartbeat import Freshness, RedisHeartbeats
from votewire.infra.redis_election_registry import RedisElectionRegistry
from votewire.infra.redis_views import RedisViews
from votewire.live import probes
from votewire.live.access import Access
from votewire.live.context import LiveContext
from votewire.live.direct import capture
from votewire.live.feed import run_feed
from votewire.live.hub import Hub
from votewire.live.known_races import KnownRaces
from votewire.live.limits import ConnectionCounter, LiveLimits
from votewire.live.metrics import LiveMetrics
from votewire.live.pacer import Pacer
from votewire.live.pipeline import PipelineWatch
from votewire.live.rest import EXCEPTION_HANDLERS, ROUTES
from votewire.live.session import Session
from votewire.live.watchdog import Watchdog

STATIC_DIR = Path(__file__).parent / "static"
REDIS_CONNECTIONS = 64
"""Pool size for view reads: a reconnect storm queues here instead of flooding Redis."""
FEED_START_S = 30.0
GC_GEN0_THRESHOLD = 20_000
"""Every update allocates a few objects per subscriber for an instant (tasks woken,
futures, frame lists); with CPython's default threshold (700) each fan-out burst
triggers collections that walk every connection's objects: measured, 30-40 % of
the process's CPU and pauses of up to 0.5 s with 5,000 clients. Cyclic garbage
is still collected, after 20,000 net allocations instead of 700."""


class LiveState(TypedDict):
    live: LiveContext


async def live_endpoint(websocket: WebSocket) -> None:
    await Session(websocket, websocket.state.live).run()


def create_app(settings: Settings, limits: LiveLimits | None = None) -> Starlette:
    limits = limits or LiveLimits.from_settings(settings)
    access = Access.load(settings.live_allowed_origins, settings.live_tokens_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[LiveState]:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=20
        )
        client = aioredis.Redis(connection_pool=pool)
        views = RedisViews(client, settings.redis_prefix)
        hub = Hub(frame_once=limits.direct_writes)
        ctx = LiveContext(
            views,
            hub,
            limits,
            access,
            ConnectionCounter(limits.max_connections_per_ip),
            Watchdog(limits),
            Pacer(hub, limits.channel_max_hz),
            PipelineWatch(
                RedisHeartbeats(client, settings.redis_prefix),
                hub,
                Freshness(settings.stale_after_ms / 1000),
            ),
            anomalies=RedisAnomalyFeed(views),
        )
        registry = RedisElectionRegistry(client, settings.redis_prefix)
        ctx.known, ctx.retired = KnownRaces(registry, views), registry
        ctx.metrics = LiveMetrics(ctx)
        gc_before = gc.get_threshold()
        gc.freeze()  # objects from start-up live forever: keep them out of every collection
        gc.set_threshold(GC_GEN0_THRESHOLD, *gc_before[1:])
        ready = asyncio.Event()
        tasks = [
            asyncio.create_task(run_feed(views, ctx.pacer, ready, ctx.feed)),
            asyncio.create_task(ctx.watchdog.run()),
            asyncio.create_task(ctx.pipeline.run()),
        ]
        try:
            await asyncio.wait_for(ready.wait(), FEED_START_S)
            yield {"live": ctx}
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            gc.set_threshold(*gc_before)
            await client.aclose()
            await pool.aclose()

    origins = list(settings.live_allowed_origins)
    return Starlette(
        routes=[
            *probes.ROUTES,
            *ROUTES,
            WebSocketRoute("/v1/live", live_endpoint),
            Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard"),
        ],
        middleware=[
            Middleware(capture),  # first: sees the server's own `send` (direct.py)
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET"],
                allow_headers=["Authorization", "If-None-Match"],
                expose_headers=["ETag", "X-Votewire-Seq", "X-Votewire-Epoch"],
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
