"""The aggregate worker's composition root: `create_app(settings)` -> faust.App.

Agents are registered by `register`, called from the factory: nothing is
registered at import time, and there is no module-level app.

Processing guarantee: at-least-once, agent concurrency 1 (faust-streaming's
exactly-once mode and concurrency > 1 both have open bugs around rebalances
and offset commits); idempotent folding makes re-delivery harmless.
"""

from __future__ import annotations

import faust
import redis.asyncio as aioredis

from services.aggregate.folder import RaceFolder
from services.config import Settings
from services.infra.definition_catalog import DefinitionCatalog
from services.infra.redis_views import RedisViews


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def create_app(settings: Settings, replication: int = 1) -> faust.App:
    app = faust.App(
        settings.aggregate_app_id,
        broker=broker_url(settings.kafka_bootstrap),
        store="memory://",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        topic_partitions=settings.report_partitions,
        topic_replication_factor=replication,
        topic_allow_declare=True,
        web_host=settings.host,
        web_port=settings.aggregate_port,
        web_in_thread=False,
        broker_commit_every=100,
        broker_commit_interval=0.5,
        consumer_auto_offset_reset="earliest",
    )
    register(app, settings)
    return app


def register(app: faust.App, settings: Settings) -> None:
    """Declare the topics, tables and agents of the aggregate stage on `app`."""
    reports = app.topic(
        settings.reports_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.report_partitions,
        internal=False,
    )
    race_states = app.Table(
        "race-states",
        key_type=bytes,
        value_type=bytes,
        partitions=settings.report_partitions,
    )
    catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    folder = RaceFolder(catalog, RedisViews(redis_client, settings.redis_prefix), race_states)

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[object], **kwargs: object) -> None:
        folder.forget_cache()

    @app.task
    async def start_catalog() -> None:
        await catalog.start()

    @app.on_before_shutdown.connect
    async def on_shutdown(app: faust.App, **kwargs: object) -> None:
        await catalog.stop()
        await redis_client.aclose()

    @app.agent(reports, concurrency=1, name="fold-reports")
    async def fold_reports(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await folder.fold(event.key, event.value)

    app.folder = folder  # type: ignore[attr-defined]  # exposed for the metrics page
