"""Putting accepted reports, definitions and dead letters on Kafka.

The producer is idempotent with acks=all: when `publish_report` returns, the
record is on every in-sync replica, and a producer retry cannot duplicate it.
Reports are keyed "<election_id>/<race_id>": all reports of a race land in one
partition, in order, and races spread over partitions.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from services.config import Settings
from services.core.codec import dumps, encode_definition, report_to_bytes
from services.core.models import ElectionDefinition, Report


def report_key(report: Report) -> bytes:
    return f"{report.election_id}/{report.race_id}".encode()


class ReportPublisher(Protocol):
    async def publish_report(self, report: Report) -> None: ...
    async def publish_definition(self, definition: ElectionDefinition) -> None: ...
    async def publish_dead_letter(self, letter: dict[str, Any]) -> None: ...


class KafkaPublisher:
    """`ReportPublisher` on aiokafka. Raises `aiokafka.errors.KafkaError` when Kafka
    does not acknowledge in time; the caller must then not acknowledge its client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=10_000,
            compression_type=None,
        )

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def publish_report(self, report: Report) -> None:
        await self.producer.send_and_wait(
            self.settings.reports_topic, report_to_bytes(report), key=report_key(report)
        )

    async def publish_definition(self, definition: ElectionDefinition) -> None:
        await self.producer.send_and_wait(
            self.settings.definitions_topic,
            dumps(encode_definition(definition)),
            key=definition.election_id.encode(),
        )

    async def publish_dead_letter(self, letter: dict[str, Any]) -> None:
        await self.producer.send_and_wait(self.settings.dead_letter_topic, dumps(letter))
