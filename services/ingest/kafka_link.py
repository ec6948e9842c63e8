"""Bringing ingest's Kafka side up, and keeping at it until it is.

`KafkaLink.run()` makes sure the topics exist, starts the publisher, then the
definition catalog (which reads every definition published so far), retrying
with capped exponential backoff while Kafka is unreachable, and sets `up`
once all three succeeded. The service serves meanwhile: until `up`, report
and definition requests are answered 503 with Retry-After. After `up`,
broker outages are the producer's to ride out (aiokafka reconnects by itself;
each publish is bounded by the produce timeout) and `run` returns.

Cancelling `run` (shutdown) stops whatever it had started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError
from votewire.config import Settings
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.kafka_topics import ensure_topics
from votewire.ingest.publisher import KafkaPublisher

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 5.0


class KafkaLink:
    def __init__(
        self,
        settings: Settings,
        publisher: KafkaPublisher,
        catalog: DefinitionCatalog,
        topics: Callable[[Settings], Awaitable[object]] = ensure_topics,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.catalog = catalog
        self._ensure_topics = topics
        self.up = asyncio.Event()
        self.last_error: str | None = None
        self.attempts = 0

    async def run(self) -> None:
        """Connect, retrying until it works; then return (see module doc)."""
        backoff = FIRST_BACKOFF_S
        while True:
            self.attempts += 1
            try:
                await self._connect_once()
            except Exception as exc:  # whatever it is, keep trying: /readyz shows it
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                if not isinstance(exc, KafkaError | OSError | TimeoutError):
                    log.exception("unexpected failure connecting to Kafka")
                elif self.attempts == 1 or self.attempts % 10 == 0:
                    log.warning(
                        "Kafka at %s not reachable (attempt %d): %s; retrying, serving 503s",
                        self.settings.kafka_bootstrap, self.attempts, self.last_error,
                    )  # fmt: skip
                await asyncio.sleep(backoff)  # backoff between reconnection attempts
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            self.last_error = None
            self.up.set()
            log.info("Kafka link up after %d attempt(s)", self.attempts)
            return

    async def _connect_once(self) -> None:
        timeout = max(5.0, self.settings.ingest_produce_timeout_ms / 1000 * 2)
        await asyncio.wait_for(self._ensure_topics(self.settings), timeout)
        if not self.publisher.started:
            await self.publisher.start()
        await self.catalog.start()

    async def wait_up(self, timeout_s: float) -> bool:
        """True once up; False if `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self.up.wait(), timeout_s)
        except TimeoutError:
            return False
        return True
