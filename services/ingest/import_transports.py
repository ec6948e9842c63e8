"""How the importer delivers a batch: over the ingest API, or straight to Kafka.

Both take a batch of JSON texts (one report each) and return one result per
report, shaped as the API answers it (`{"status": "accepted"|"rejected",
"report_id", "problems"?}`), or raise:

- `RetryLater(wait_s)`: nothing may be taken as stored (429, 503, connection
  trouble); sending the same batch again is safe (idempotency);
- `Refused(message)`: the request itself was refused (401, 413, ...);
  retrying will not help.

`HttpTransport` posts NDJSON to POST /v1/reports with the bearer token.
`DirectTransport` runs the service's own `Intake` in this process: the same
validation, idempotency store, producer and dead-letter topic, as the trusted
sender "direct-import" (every election; no rate limit). It needs the
election's definition on the definitions topic already.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import redis.asyncio as aioredis
from votewire.config import Settings
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.kafka_topics import ensure_topics
from votewire.ingest.auth import ANY_ELECTION, Credential, Scope
from votewire.ingest.bodies import parse_ndjson_lines
from votewire.ingest.dead_letters import Sender
from votewire.ingest.idempotency import RedisSeenStore
from votewire.ingest.intake import Intake, Unavailable
from votewire.ingest.metrics import IngestMetrics
from votewire.ingest.publisher import KafkaPublisher

DIRECT = Credential("direct-import", scopes=(Scope(ANY_ELECTION),))
ANSWERED = frozenset({200, 207, 403, 409, 422})


class RetryLater(Exception):
    def __init__(self, wait_s: float, why: str) -> None:
        super().__init__(why)
        self.wait_s = wait_s


class Refused(Exception):
    """The ingest API refused the request itself."""


class Transport(Protocol):
    async def send(self, texts: Sequence[str]) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...


class HttpTransport:
    def __init__(self, url: str, token: str | None, timeout_s: float = 30.0) -> None:
        headers = {"Content-Type": "application/x-ndjson"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout_s)

    async def send(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        body = "\n".join(texts).encode() + b"\n"
        try:
            answer = await self.client.post("/v1/reports", content=body)
        except httpx.TransportError as exc:
            raise RetryLater(1.0, f"{type(exc).__name__}: {exc}") from None
        if answer.status_code in (429, 503):
            wait = _retry_after(answer.headers.get("retry-after"))
            raise RetryLater(wait, f"HTTP {answer.status_code}: {_message(answer)}")
        if answer.status_code not in ANSWERED:
            raise Refused(f"HTTP {answer.status_code}: {_message(answer)}")
        results: list[dict[str, Any]] = answer.json()["results"]
        if len(results) != len(texts):
            raise Refused(f"{len(results)} answers for {len(texts)} reports")
        return results

    async def close(self) -> None:
        await self.client.aclose()


class DirectTransport:
    """The service's intake pipeline in this process (see module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.publisher = KafkaPublisher(settings)
        self.catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5.0)
        seen = RedisSeenStore(self.redis, settings.redis_prefix)
        self.intake = Intake(self.catalog, self.publisher, seen, IngestMetrics())
        self.sender = Sender(DIRECT.credential_id, "import", socket.gethostname())

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await self.publisher.start()
        await self.catalog.start()

    async def send(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        try:
            verdicts = await self.intake.submit(parse_ndjson_lines(texts), DIRECT, self.sender)
        except Unavailable as exc:
            raise RetryLater(1.0, str(exc)) from None
        return [v.to_dict() for v in verdicts]

    async def close(self) -> None:
        await self.catalog.stop()
        await self.publisher.stop()
        await self.redis.aclose()


def _retry_after(header: str | None) -> float:
    try:
        return max(0.1, float(header)) if header else 1.0
    except ValueError:
        return 1.0


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]
