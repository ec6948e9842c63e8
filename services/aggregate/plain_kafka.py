"""What a stage without faust needs of aiokafka: records as the batch loop reads
them, and sends a commit can wait for.

- `Delivered`: one fetched record as `BatchLoop` and `ConsumerBacklog` read a
  faust event (key, value, and a message with partition, offset, timestamp in
  seconds, headers and topic-partition);
- `Sends`: the producer's sends since the last `settle`; `settle()` awaits
  them, raising the first one Kafka refused. A commit takes its offsets, then
  settles, then commits: nothing is committed ahead of its outputs.
  `Sends.to(topic)` is a `ports.Downstream`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition


@dataclass(frozen=True, slots=True)
class Delivered:
    """One fetched record as `BatchLoop` and `ConsumerBacklog` read it (an `Event`
    that is its own message)."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp: float
    """Seconds (Kafka's are milliseconds)."""
    headers: Sequence[tuple[str, bytes]]
    tp: TopicPartition

    @property
    def message(self) -> Delivered:
        return self


class Sends:
    """The producer's sends since the last `take`, so a commit can await them first."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._futures: list[asyncio.Future[Any]] = []

    def to(self, topic: str) -> TopicSend:
        return TopicSend(self, topic)

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self._futures.append(await self.producer.send(topic, value, key=key))

    async def settle(self) -> None:
        """Await every send enqueued so far; raises the first send Kafka refused."""
        futures, self._futures = self._futures, []
        if futures:
            await asyncio.gather(*futures)


class TopicSend:
    """`ports.Downstream` on one topic."""

    def __init__(self, sends: Sends, topic: str) -> None:
        self.sends = sends
        self.topic = topic

    async def send(self, key: bytes | None, value: bytes) -> None:
        await self.sends.send(self.topic, key, value)
