"""Reading a topic once, from the beginning (or a time) to a fixed end: the one adapter.

Every reader of a whole topic uses this: replay, export and audit (the
evidence), `rebuild`, the aggregate's stage 1 when it re-folds a reports
partition it was just assigned (docs/aggregate.md), tests and benches.

`KafkaLog(bootstrap)` is a plain aiokafka consumer with no consumer group
and no commits: it changes nothing on the cluster, so it can read the live
topics while the live pipeline runs, as often as wanted.

- `bounds(topic, start_ms=None)` fixes, per partition, the offsets to read:
  from the beginning (or the first record with a timestamp >= `start_ms`,
  Kafka's `offsets_for_times`) to the end offset *at the time of the call*.
  Records published afterwards are not read: a replay or an export is a
  snapshot of the log as it stood when it began.
- `read(topic, bounds)` yields `LogRecord`s partition by partition, in
  offset order (partitions ascending). Within a partition this is the order
  the live pipeline consumed; across partitions there is no order to keep
  (every race lives in one partition). It raises `LogStalled` if a
  partition makes no progress for `stall_s` (a broker gone, or records
  deleted by retention under our feet). `batches` yields the same records a
  fetch at a time (lists), for readers that fold many records per await.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


class LogRecord(NamedTuple):
    """One record of a topic, as stored."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    timestamp_type: int = 0
    """Kafka's: 0 CreateTime (the producer's clock), 1 LogAppendTime (the broker's).
    Kept in an archive's manifest, not in its records."""
    headers: tuple[tuple[str, bytes], ...] = ()
    """The record's Kafka headers, in order (ingest names the sending credential in
    `votewire.core.keys.CREDENTIAL_HEADER`); kept in an archive's records."""


Bounds = dict[int, tuple[int, int]]
"""partition -> (first offset to read, end offset: one past the last)."""

FETCH_MAX_RECORDS = 10_000
FETCH_WAIT_MS = 20
"""How long the broker may hold a fetch for more data. A bounded read has no use
for long polls, and a fetch in flight for a partition we are done with delays
the next assignment by up to this long."""


class LogStalled(KafkaError):  # type: ignore[misc]
    """A partition stopped short of its end offset."""


class KafkaLog:
    """See the module doc. Use as an async context manager."""

    def __init__(self, bootstrap: str, *, stall_s: float = 30.0) -> None:
        self.bootstrap = bootstrap
        self.stall_s = stall_s
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def __aenter__(self) -> KafkaLog:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_wait_ms=FETCH_WAIT_MS,
            request_timeout_ms=30_000,
        )
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30_000)
        try:
            await consumer.start()
            await admin.start()
        except BaseException:
            await consumer.stop()
            await admin.close()
            raise
        self._consumer, self._admin = consumer, admin
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        consumer, self._consumer = self._consumer, None
        admin, self._admin = self._admin, None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("KafkaLog used outside `async with`")
        return self._consumer

    async def partitions(self, topic: str) -> list[int]:
        """The topic's partitions; empty if the topic does not exist.

        Asked of the cluster through the admin client: a group-less consumer's
        own metadata does not know topics it was not told about at start."""
        if self._admin is None:
            raise RuntimeError("KafkaLog used outside `async with`")
        for found in await self._admin.describe_topics([topic]):
            if found.get("topic") == topic and found.get("error_code") == 0:
                return sorted(int(p["partition"]) for p in found.get("partitions", []))
        return []

    async def bounds(self, topic: str, start_ms: int | None = None) -> Bounds:
        """Per partition, the offsets to read now (see the module doc)."""
        parts = [TopicPartition(topic, p) for p in await self.partitions(topic)]
        if not parts:
            return {}
        consumer = self.consumer
        begin = await consumer.beginning_offsets(parts)
        end = await consumer.end_offsets(parts)
        first = dict(begin)
        if start_ms is not None:
            found = await consumer.offsets_for_times(dict.fromkeys(parts, start_ms))
            for tp in parts:
                hit = found.get(tp)
                first[tp] = end[tp] if hit is None else max(begin[tp], hit.offset)
        return {tp.partition: (first[tp], end[tp]) for tp in parts}

    async def read(self, topic: str, bounds: Bounds) -> AsyncIterator[LogRecord]:
        """Every record within `bounds`, partition by partition, in offset order."""
        async for records in self.batches(topic, bounds):
            for record in records:
                yield record

    async def batches(self, topic: str, bounds: Bounds) -> AsyncIterator[list[LogRecord]]:
        """`read`, a fetch at a time: non-empty lists, same records, same order."""
        consumer = self.consumer
        for partition in sorted(bounds):
            start, end = bounds[partition]
            if start >= end:
                continue
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, start)
            position = start
            while position < end:
                batch = await consumer.getmany(
                    tp, timeout_ms=int(self.stall_s * 1000), max_records=FETCH_MAX_RECORDS
                )
                records = batch.get(tp, [])
                if not records:
                    position = await consumer.position(tp)
                    if position < end:
                        raise LogStalled(
                            f"{topic}[{partition}] gave nothing for {self.stall_s:.0f}s "
                            f"at offset {position} (end {end})"
                        )
                    break
                out = [
                    LogRecord(
                        partition,
                        r.offset,
                        r.timestamp,
                        r.key,
                        r.value,
                        r.timestamp_type,
                        tuple((k, v or b"") for k, v in r.headers or ()),
                    )
                    for r in records
                    if r.offset < end
                ]
                if out:
                    yield out
                position = records[-1].offset + 1

    async def read_all(self, topic: str, start_ms: int | None = None) -> list[LogRecord]:
        """`read(topic, await bounds(topic, start_ms))` as a list (small topics)."""
        return [r async for r in self.read(topic, await self.bounds(topic, start_ms))]


def total(bounds: Bounds) -> int:
    """How many offsets `bounds` spans (the records to read, for progress)."""
    return sum(max(0, end - start) for start, end in bounds.values())
