"""Putting accepted reports, definitions and dead letters on Kafka.

The producer is idempotent with acks=all: a report counts as published only
when Kafka acknowledged it on every in-sync replica, and a producer retry
cannot duplicate it. Reports are keyed "<election_id>/<race_id>": all reports
of a race land in one partition, in the order given, and races spread over
partitions. Each report's value is its canonical encoding, and its one
header names the sending credential (`votewire.core.report_headers`), so the
log says who sent every figure. A race call (`publish_call`) goes to the
reports topic under its race's key too (no header: the call names who made
it). Dead letters are keyed by the election (else the sender's credential id).

Every publish is bounded by `produce_timeout_s`. A report not acknowledged
within it is reported as not acked (`publish_reports`) or raises
`PublishFailed` (the others); the caller must then not tell its client the
record is stored. A record given up on may still reach Kafka later (the
producer keeps its batch until the broker answers or the batch expires):
a client's retry can then add a duplicate, never lose one.

The producer is created by `start()`, which may fail (Kafka down) and may be
called again; until it succeeded every publish raises `PublishFailed`.

Renewal: when the broker refuses the producer's idempotence state (out of
order sequence, unknown producer id, fenced epoch: what aiokafka leaves behind
after it expired batches during a broker outage, and never recovers from by
itself) the producer is replaced by a new one (a new producer id) in the
background, with capped backoff. Records of the old producer were answered
503, so their clients retry; nothing acknowledged is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from votewire.config import Settings
from votewire.core.codec import report_to_bytes
from votewire.core.definition_records import revision_name, revision_records
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report
from votewire.core.race_call import RaceCall, call_to_bytes
from votewire.core.report_headers import credential_headers

log = logging.getLogger(__name__)

BROKEN_PRODUCER_ERRORS = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
)
MAX_RENEW_BACKOFF_S = 5.0
DEFINITION_BYTES_PER_S = 4_000_000
"""Added to the produce timeout for a definition's parts: a national one is ~20 MB."""


class PublishFailed(Exception):
    """Kafka did not acknowledge in time (or is not connected)."""


class TooLarge(PublishFailed):
    """The record is larger than Kafka accepts; retrying will not help."""


def report_key(report: Report) -> bytes:
    return race_key(report.election_id, report.race_id)


Headers = list[tuple[str, bytes]]
_Record = tuple[str, bytes, bytes | None, Headers | None]
"""(topic, key, value (None: a tombstone), headers)."""


class ReportPublisher(Protocol):
    async def publish_reports(
        self, reports: Sequence[Report], credential_id: str
    ) -> list[bool]: ...
    async def publish_definition(self, definition: ElectionDefinition, document: bytes) -> str: ...
    async def tombstone_definition_parts(self, keys: Sequence[bytes]) -> None: ...
    async def publish_dead_letters(self, letters: Sequence[tuple[bytes, bytes]]) -> None: ...


class KafkaPublisher:
    """`ReportPublisher` on aiokafka."""

    def __init__(
        self,
        settings: Settings,
        on_ack_latency: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.timeout_s = settings.ingest_produce_timeout_ms / 1000
        self.on_ack_latency = on_ack_latency
        self.producer: AIOKafkaProducer | None = None
        self.renewals = 0
        self._renewing: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self.producer is not None

    async def start(self) -> None:
        """Connect; raises `KafkaError` (and leaves nothing open) if Kafka is not there."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=max(1000, self.settings.ingest_produce_timeout_ms * 2),
            max_batch_size=256 * 1024,
            compression_type=None,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self.producer = producer

    async def stop(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        producer, self.producer = self.producer, None
        if producer is not None:
            await producer.stop()

    async def probe(self, timeout_s: float = 1.0) -> bool:
        """True if the cluster answers a metadata request within `timeout_s`."""
        if self.producer is None:
            return False
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout_s)
        except (KafkaError, TimeoutError, OSError):
            return False
        return True

    async def publish_reports(self, reports: Sequence[Report], credential_id: str) -> list[bool]:
        """Send all, in order, as sent by `credential_id`; return per report whether Kafka
        acknowledged it in time."""
        topic = self.settings.reports_topic
        headers = credential_headers(credential_id)
        return await self._publish(
            [(topic, report_key(r), report_to_bytes(r), headers) for r in reports]
        )

    async def publish_definition(self, definition: ElectionDefinition, document: bytes) -> str:
        """Publish a new revision of `definition` (canonical text `document`) as parts,
        then, once every part is acknowledged, its header (`core.definition_records`);
        return the revision. Raises `PublishFailed` if Kafka did not acknowledge it all:
        readers then still see the previous revision (the parts are garbage, tombstoned
        by a later publish)."""
        revision = revision_name(document, time.time_ns() // 1_000_000)
        parts, header = revision_records(definition, document, revision)
        topic = self.settings.definitions_topic
        timeout_s = self.timeout_s + len(document) / DEFINITION_BYTES_PER_S
        acked = await self._publish([(topic, k, v, None) for k, v in parts], 0, timeout_s)
        if not all(acked):
            missing = acked.count(False)
            raise PublishFailed(f"{missing} of {len(parts)} definition parts not acknowledged")
        if not all(await self._publish([(topic, header.key, header.value, None)], 0)):
            raise PublishFailed("the definition's header was not acknowledged")
        return revision

    async def tombstone_definition_parts(self, keys: Sequence[bytes]) -> None:
        """Tombstone superseded parts; raises `PublishFailed` if not all were acknowledged."""
        topic = self.settings.definitions_topic
        acked = await self._publish([(topic, key, None, None) for key in keys], 0)
        if not all(acked):
            raise PublishFailed(f"{acked.count(False)} tombstone(s) not acknowledged")

    async def publish_retirement(self, key: bytes, value: bytes | None) -> None:
        """Put an election's retirement record (None: its tombstone, un-retiring it) on
        the definitions topic's partition 0 (`core.retirement`); `PublishFailed` unless
        Kafka acknowledged it in time."""
        topic = self.settings.definitions_topic
        if not all(await self._publish([(topic, key, value, None)], 0)):
            raise PublishFailed("the retirement record was not acknowledged")

    async def publish_call(self, call: RaceCall) -> None:
        """Put a race call on the reports topic, keyed by its race; `PublishFailed` unless
        Kafka acknowledged it in time."""
        key = race_key(call.election_id, call.race_id)
        if not all(
            await self._publish([(self.settings.reports_topic, key, call_to_bytes(call), None)])
        ):
            raise PublishFailed("the call was not acknowledged")

    async def publish_dead_letters(self, letters: Sequence[tuple[bytes, bytes]]) -> None:
        topic = self.settings.dead_letter_topic
        acked = await self._publish([(topic, key, value, None) for key, value in letters])
        if not all(acked):
            raise PublishFailed(f"{acked.count(False)} dead letter(s) not acknowledged")

    async def _publish(
        self,
        records: Sequence[_Record],
        partition: int | None = None,
        timeout_s: float | None = None,
    ) -> list[bool]:
        producer = self.producer
        if producer is None:
            raise PublishFailed("not connected to Kafka")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout_s if timeout_s is None else timeout_s)
        # Definitions all go to partition 0: one election's parts and header in one order.
        where = {} if partition is None else {"partition": partition}
        futures: list[asyncio.Future[object]] = []
        too_large = False
        try:
            async with asyncio.timeout_at(deadline):
                for topic, key, value, headers in records:
                    future = await producer.send(topic, value, key=key, headers=headers, **where)
                    future.add_done_callback(self._acked_callback(loop.time()))
                    futures.append(future)
        except MessageSizeTooLargeError:
            too_large = True
        except (KafkaError, TimeoutError):
            pass  # what was not enqueued counts as not acknowledged
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        failures = [f.exception() for f in futures if f.done() and not f.cancelled()]
        if any(isinstance(e, BROKEN_PRODUCER_ERRORS) for e in failures):
            self._renew(producer)
        acked = [f.done() and not f.cancelled() and f.exception() is None for f in futures]
        if too_large and len(records) == 1:
            raise TooLarge("the record is larger than Kafka accepts")
        return acked + [False] * (len(records) - len(futures))

    def _renew(self, broken: AIOKafkaProducer) -> None:
        """Start replacing `broken` (once); publishes fail fast meanwhile."""
        if self.producer is not broken or self._renewing is not None:
            return
        self.producer = None
        self.renewals += 1
        log.warning("Kafka refused the producer's idempotence state: renewing the producer")
        self._renewing = asyncio.create_task(self._replace(broken), name="ingest-producer-renewal")

    async def _replace(self, broken: AIOKafkaProducer) -> None:
        try:
            with contextlib.suppress(KafkaError, OSError):
                await broken.stop()
            backoff = 0.25
            while True:
                try:
                    await self.start()
                    log.info("producer renewed")
                    return
                except (KafkaError, OSError) as exc:
                    log.warning("producer renewal failed (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(backoff)  # backoff between reconnection attempts
                    backoff = min(backoff * 2, MAX_RENEW_BACKOFF_S)
        finally:
            self._renewing = None

    def _acked_callback(self, sent_at: float) -> Callable[[asyncio.Future[object]], None]:
        """Observe the ack latency; consume the outcome of records given up on."""

        def done(future: asyncio.Future[object]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            if self.on_ack_latency is not None:
                self.on_ack_latency(asyncio.get_running_loop().time() - sent_at)

        return done
