"""What the ingest lifespan hands to every request (`request.state`)."""

from __future__ import annotations

from typing import TypedDict, cast

import redis.asyncio as aioredis
from starlette.requests import Request

from services.config import Settings
from services.infra.definition_catalog import DefinitionCatalog
from services.ingest.auth import Credentials
from services.ingest.intake import Intake
from services.ingest.kafka_link import KafkaLink
from services.ingest.limits import RateLimiter
from services.ingest.metrics import IngestMetrics
from services.ingest.publisher import KafkaPublisher


class IngestState(TypedDict):
    settings: Settings
    credentials: Credentials
    limiter: RateLimiter
    metrics: IngestMetrics
    publisher: KafkaPublisher
    catalog: DefinitionCatalog
    link: KafkaLink
    redis: aioredis.Redis
    intake: Intake


def state_of(request: Request) -> IngestState:
    """The typed lifespan state of `request`."""
    return cast(IngestState, request.scope["state"])
