"""Election definitions, followed from their compacted Kafka topic.

Every process that needs definitions (ingest to validate, aggregate to tally)
keeps a `DefinitionCatalog`: at `start()` it reads the topic from the beginning
to its current end (so it knows every definition published before it started),
then keeps following it in the background. It uses no consumer group: each
process reads the whole topic. A tombstone (null value) removes a definition.
A record that does not decode is skipped and counted (it cannot have come
through ingest, which publishes only decoded definitions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from votewire.core.codec import DefinitionError, decode_definition, loads
from votewire.core.models import ElectionDefinition
from votewire.infra.kafka_topics import topic_partitions

log = logging.getLogger(__name__)


class DefinitionCatalog:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.skipped = 0
        self._definitions: dict[str, ElectionDefinition] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._follow: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.ready = asyncio.Event()
        """Set once every definition published before `start()` has been read."""

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self._definitions.get(election_id)

    def all(self) -> dict[str, ElectionDefinition]:
        return dict(self._definitions)

    def put_local(self, definition: ElectionDefinition) -> None:
        """Read-your-writes for the process that just published `definition`."""
        self._definitions[definition.election_id] = definition

    async def wait_for(self, election_id: str, timeout_s: float) -> ElectionDefinition | None:
        """The definition, waiting up to `timeout_s` for it to arrive on the topic."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: election_id in self._definitions),
                    timeout_s,
                )
        return self._definitions.get(election_id)

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:  # a failed start must leave nothing open: start() may be retried
            await consumer.start()
            partitions = [
                TopicPartition(self.topic, p)
                for p in await topic_partitions(self.bootstrap, self.topic) or [0]
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while await self._behind(consumer, end):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self._apply(record.key, record.value)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._follow = asyncio.create_task(self._follow_topic(consumer))
        self.ready.set()

    @staticmethod
    async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
        for tp, offset in end.items():
            if await consumer.position(tp) < offset:
                return True
        return False

    async def _follow_topic(self, consumer: AIOKafkaConsumer) -> None:
        async for record in consumer:
            self._apply(record.key, record.value)
            async with self._changed:
                self._changed.notify_all()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            self.skipped += 1
            return
        election_id = key.decode(errors="replace")
        if value is None:
            self._definitions.pop(election_id, None)
            return
        try:
            definition = decode_definition(loads(value))
        except (DefinitionError, ValueError) as exc:
            self.skipped += 1
            log.error("skipping undecodable definition %r: %s", election_id, exc)
            return
        self._definitions[definition.election_id] = definition

    async def stop(self) -> None:
        if self._follow:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
        if self._consumer:
            await self._consumer.stop()
