"""What the live service says about itself: liveness, readiness, health, metrics.

- `GET /livez`: 200 while the process answers (liveness: a restart would not
  fix anything this service could report).
- `GET /readyz`: 200 once the change feed is subscribed to Redis, 503
  `feed_down` otherwise. Readiness never depends on the aggregate: a live
  process with a dead aggregate still serves the last numbers, labelled stale,
  which beats serving nothing.
- `GET /healthz`: the whole truth. 200 `ok`; 503 `degraded` while the
  pipeline is stale (pipeline.py: the aggregate stopped beating or is not
  ok); 503 `feed_down` without the feed. The body carries the pipeline
  verdict and the service's counters.
- `GET /metrics`: Prometheus text (metrics.py).
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from votewire.live.context import LiveContext
from votewire.live.metrics import CONTENT_TYPE

NO_CACHE = {"Cache-Control": "no-cache"}


def _context(request: Request) -> LiveContext:
    ctx: LiveContext = request.state.live
    return ctx


def status_of(ctx: LiveContext) -> str:
    if not ctx.feed.connected:
        return "feed_down"
    return "degraded" if ctx.pipeline.stale else "ok"


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_CACHE)


async def readyz(request: Request) -> Response:
    ready = _context(request).feed.connected
    body = {"status": "ok" if ready else "feed_down", "ready": ready}
    return JSONResponse(body, 200 if ready else 503, headers=NO_CACHE)


async def health(request: Request) -> Response:
    ctx = _context(request)
    status = status_of(ctx)
    body = {
        "status": status,
        "pipeline": ctx.pipeline.view(),
        "feed": {"connected": ctx.feed.connected, "connects": ctx.feed.connects},
        "sessions": ctx.sessions,
        "channels": len(ctx.hub.channels()),
        "subscriptions": ctx.hub.subscriptions(),
        "published": ctx.hub.published,
        "superseded_at_source": ctx.pacer.superseded,
        "written_direct": ctx.hub.written_direct,
        "frames_sent": ctx.frames_sent,
        "closes": dict(ctx.closes),
    }
    code = 200 if status == "ok" else 503
    return Response(json.dumps(body), code, media_type="application/json", headers=NO_CACHE)


async def metrics(request: Request) -> Response:
    ctx = _context(request)
    return Response(ctx.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE, **NO_CACHE})


ROUTES = [
    Route("/livez", livez),
    Route("/readyz", readyz),
    Route("/healthz", health),
    Route("/metrics", metrics),
]
