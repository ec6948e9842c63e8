"""Putting a `NightLog` on a real Kafka, as ingest would have, and cleaning Redis after.

`produce_night(settings, log)` creates the deployment's topics and produces
the definition, then every accepted report in delivery order (so each race's
reports keep their order; key "<election>/<race>", canonical bytes, the sending
credential in its header), then the
dead letters, each record stamped with its delivery time (`timestamp_ms`).
Every send is awaited to its acknowledgement: a record Kafka refused fails
the caller. `drop_keys(settings)` deletes the deployment's Redis keys, live
prefix and replay namespaces.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from votewire.config import Settings
from votewire.core.codec import report_to_bytes
from votewire.core.keys import race_key
from votewire.core.report_headers import credential_headers
from votewire.infra.kafka_topics import ensure_topics

from tests.support.night_log import SENDER, NightLog


async def produce_night(settings: Settings, log: NightLog) -> None:
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    try:
        sent: list[asyncio.Future[object]] = []
        for record in log.definitions:
            sent.append(
                await producer.send(
                    settings.definitions_topic,
                    record.value,
                    key=record.key,
                    timestamp_ms=record.timestamp_ms,
                )
            )
        headers = credential_headers(SENDER.credential_id)
        for ms, report in log.accepted:
            key = race_key(report.election_id, report.race_id)
            sent.append(
                await producer.send(
                    settings.reports_topic,
                    report_to_bytes(report),
                    key=key,
                    timestamp_ms=ms,
                    headers=headers,
                )
            )
        for record in log.dead_letters:
            sent.append(
                await producer.send(
                    settings.dead_letter_topic,
                    record.value,
                    key=record.key,
                    timestamp_ms=record.timestamp_ms,
                )
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def drop_keys(settings: Settings) -> None:
    client = aioredis.from_url(settings.redis_url)
    try:
        for pattern in (f"{settings.redis_prefix}:*", f"{settings.redis_prefix}-replay-*"):
            keys = [k async for k in client.scan_iter(match=pattern, count=1000)]
            if keys:
                await client.unlink(*keys)
    finally:
        await client.aclose()
