"""The ingest service's composition root: `create_app(settings)`.

Nothing happens at import time. The lifespan makes sure the topics exist,
starts the Kafka publisher and the definition catalog, and hands them to the
routes through `request.state`; shutdown stops them in reverse order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.applications import Starlette
from starlette.routing import Route

from services.config import Settings
from services.infra.definition_catalog import DefinitionCatalog
from services.infra.kafka_topics import ensure_topics
from services.ingest import routes
from services.ingest.publisher import KafkaPublisher


class IngestState(TypedDict):
    settings: Settings
    publisher: KafkaPublisher
    catalog: DefinitionCatalog


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[IngestState]:
        await ensure_topics(settings)
        publisher = KafkaPublisher(settings)
        catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
        await publisher.start()
        try:
            await catalog.start()
            try:
                yield {"settings": settings, "publisher": publisher, "catalog": catalog}
            finally:
                await catalog.stop()
        finally:
            await publisher.stop()

    return Starlette(
        routes=[
            Route("/healthz", routes.health),
            Route("/v1/elections/{election_id}", routes.put_definition, methods=["PUT"]),
            Route("/v1/elections/{election_id}", routes.get_definition, methods=["GET"]),
            Route("/v1/reports", routes.post_reports, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
