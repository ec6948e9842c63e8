"""What the ingest lifespan hands to every request (`request.state`)."""

from __future__ import annotations

from typing import TypedDict, cast

import redis.asyncio as aioredis
from starlette.requests import Request
from votewire.config import Settings
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.heartbeat import HeartbeatReader
from votewire.ingest.auth import Credentials
from votewire.ingest.intake import Intake
from votewire.ingest.kafka_link import KafkaLink
from votewire.ingest.limits import RateLimiter
from votewire.ingest.metrics import IngestMetrics
from votewire.ingest.publisher import KafkaPublisher


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
    pipeline: HeartbeatReader
    """The aggregate's heartbeat, shown (not required) by /readyz."""


def state_of(request: Request) -> IngestState:
    """The typed lifespan state of `request`."""
    return cast(IngestState, request.scope["state"])
