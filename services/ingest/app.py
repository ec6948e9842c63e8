"""The ingest service's composition root: `create_app(settings)`.

Configuration is checked first: `create_app` reads the credentials file and
raises `CredentialsError` (a `SettingsError`) if it is bad; without one it
logs, loudly, that the service runs in open dev mode. Nothing else happens
until the lifespan starts.

The lifespan opens the Redis client, starts `KafkaLink` (topics, producer,
definition catalog; retried until Kafka answers) and waits for it up to
VOTEWIRE_INGEST_STARTUP_WAIT_MS, then serves either way: until the link is
up, report and definition requests get 503 with Retry-After and /readyz says
why. Shutdown cancels the link and stops the catalog, producer and Redis
client, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from votewire.config import Settings
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.heartbeat import Freshness, HeartbeatReader, RedisHeartbeats
from votewire.ingest import calls, retirements, routes
from votewire.ingest.auth import Credentials, load_credentials
from votewire.ingest.idempotency import RedisSeenStore
from votewire.ingest.intake import Intake
from votewire.ingest.kafka_link import KafkaLink
from votewire.ingest.limits import RateLimit, RateLimiter
from votewire.ingest.metrics import IngestMetrics
from votewire.ingest.publisher import KafkaPublisher
from votewire.ingest.state import IngestState

log = logging.getLogger(__name__)

DEV_MODE_WARNING = (
    "INGEST AUTHENTICATION IS OFF (open dev mode): VOTEWIRE_CREDENTIALS_FILE is not set, so "
    "every request acts as the admin credential 'dev-open' for every election. "
    "Never run a real election like this."
)

ROUTES = [
    Route("/healthz", routes.health, methods=["GET"]),
    Route("/readyz", routes.ready, methods=["GET"]),
    Route("/metrics", routes.metrics, methods=["GET"]),
    Route("/v1/openapi.json", routes.openapi, methods=["GET"]),
    # One route a path, so that a method it does not take gets 405 with all it does in Allow.
    Route("/v1/elections/{election_id}", routes.election, methods=["GET", "PUT"]),
    Route("/v1/reports", routes.post_reports, methods=["POST"]),
    Route(
        "/v1/elections/{election_id}/retirement",
        retirements.retirement,
        methods=["POST", "DELETE"],
    ),
    Route(
        "/v1/elections/{election_id}/races/{race_id}/call",
        calls.race_call,
        methods=["POST", "DELETE"],
    ),
]


ERROR_BODY_MAX = 4096
"""Refusals (`{"error": {"code", ...}}`) are small; larger answers are never read."""


def error_code(body: bytes) -> str:
    """The code of a refusal's JSON body; "" for any other body."""
    if len(body) > ERROR_BODY_MAX:
        return ""
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""
    return code if isinstance(code, str) and len(code) <= 64 else ""


class CountResponses:
    """ASGI middleware counting HTTP responses by status, and refusals by their error
    code (read from the first body chunk of a 4xx/5xx answer), into the metrics."""

    def __init__(self, app: ASGIApp, metrics: IngestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if status < 400:
                    self.metrics.response(status)
                    status = 0
            elif message["type"] == "http.response.body" and status:
                self.metrics.response(status, error_code(message.get("body", b"")))
                status = 0
            await send(message)

        await self.app(scope, receive, counting_send)


def create_app(settings: Settings) -> Starlette:
    credentials = load_credentials(settings.credentials_file, settings.ingest_max_items)
    _announce(credentials, settings)
    metrics = IngestMetrics()
    metrics.open_dev_mode = credentials.dev_mode
    limiter = RateLimiter(RateLimit(settings.ingest_rate, settings.ingest_burst))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[IngestState]:
        redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        publisher = KafkaPublisher(settings, on_ack_latency=metrics.produce_latency.observe)
        catalog = DefinitionCatalog(
            settings.kafka_bootstrap, settings.definitions_topic, keep_documents=True
        )
        link = KafkaLink(settings, publisher, catalog)
        metrics.kafka_ready = lambda: link.up.is_set() and catalog.ready.is_set()
        metrics.producer_renewals = lambda: publisher.renewals
        connecting = asyncio.create_task(link.run(), name="ingest-kafka-link")
        try:
            if not await link.wait_up(settings.ingest_startup_wait_ms / 1000):
                log.warning("serving before Kafka is up (%s): 503 until it is", link.last_error)
            yield {
                "settings": settings,
                "credentials": credentials,
                "limiter": limiter,
                "metrics": metrics,
                "publisher": publisher,
                "catalog": catalog,
                "link": link,
                "redis": redis,
                "intake": Intake(
                    catalog, publisher, RedisSeenStore(redis, settings.redis_prefix), metrics
                ),
                "pipeline": HeartbeatReader(
                    RedisHeartbeats(redis, settings.redis_prefix),
                    Freshness(settings.stale_after_ms / 1000),
                ),
            }
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await catalog.stop()
            await publisher.stop()
            await redis.aclose()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={HTTPException: routes.http_error},
    )
    app.add_middleware(CountResponses, metrics=metrics)
    return app


def _announce(credentials: Credentials, settings: Settings) -> None:
    if credentials.dev_mode:
        for _ in range(3):  # hard to miss in a scrolling log
            log.warning(DEV_MODE_WARNING)
    else:
        log.info("ingest credentials: %d from %s", len(credentials), settings.credentials_file)
