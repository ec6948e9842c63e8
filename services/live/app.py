"""The live service's composition root: `create_app(settings)`.

The lifespan opens the Redis client, starts the change feed (Redis pub/sub ->
hub) and waits until it is subscribed, so a client accepted after start-up
cannot miss an update between its snapshot and the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from services.config import Settings
from services.infra.redis_views import BadChannel, RedisViews
from services.live.feed import run_feed
from services.live.hub import Hub
from services.live.session import Session


class LiveState(TypedDict):
    views: RedisViews
    hub: Hub


async def live_endpoint(websocket: WebSocket) -> None:
    await Session(websocket, websocket.state.hub, websocket.state.views).run()


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "channels": request.state.hub.channels()})


async def get_view(request: Request) -> Response:
    channel = request.path_params["channel"]
    try:
        stored = await request.state.views.get_view(channel)
    except BadChannel as exc:
        return JSONResponse({"error": {"code": "bad_channel", "message": str(exc)}}, 400)
    if stored is None:
        return JSONResponse({"error": {"code": "no_view", "message": "nothing yet"}}, 404)
    etag = f'"{stored.epoch}-{stored.version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(stored.doc, media_type="application/json", headers={"ETag": etag})


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[LiveState]:
        client = aioredis.Redis.from_url(settings.redis_url)
        views = RedisViews(client, settings.redis_prefix)
        hub = Hub()
        ready = asyncio.Event()
        feed = asyncio.create_task(run_feed(client, views, hub, ready))
        try:
            await asyncio.wait_for(ready.wait(), 30)
            yield {"views": views, "hub": hub}
        finally:
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
            await client.aclose()

    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/v1/views/{channel}", get_view),
            WebSocketRoute("/v1/live", live_endpoint),
        ],
        lifespan=lifespan,
    )
