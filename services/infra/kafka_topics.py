"""The Kafka topics votewire owns, and their idempotent creation.

Topics are created explicitly (the local broker runs with
auto.create.topics.enable=false, so a typo never silently creates a topic).
`ensure_topics` may be called by every service at start-up; a topic that
already exists is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from votewire.config import Settings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
DEFINITIONS = {**COMPACTED, "segment.ms": str(3600 * 1000)}
"""Compaction only touches closed segments: roll hourly, so the superseded
revisions of a national definition (20 MB each, tombstoned on publish) leave
the log within hours instead of the default week, and a reader starting up
reads about one revision per election."""


def votewire_topics(settings: Settings) -> list[TopicSpec]:
    """Reports and dead letters are the evidence: kept whole for replay and audit.
    The reports topic is also the aggregate's stage-1 log (docs/aggregate.md).
    Definitions are compacted: the latest per key is what matters. They stay on
    one partition: one election's parts and header in one order
    (`core.definition_records`)."""
    return [
        TopicSpec(settings.reports_topic, settings.report_partitions, dict(KEEP_FOREVER)),
        TopicSpec(settings.dead_letter_topic, 1, dict(KEEP_FOREVER)),
        TopicSpec(settings.definitions_topic, 1, dict(DEFINITIONS)),
    ]


def stage_topics(settings: Settings) -> tuple[TopicSpec, TopicSpec]:
    """The aggregate's internal topics: stage 1 -> stage 2 (race views by region) and
    stage 2 -> stage 3 (region views by election), named after its app id whatever
    the role, so that a races and a rollups process meet on them."""
    base, n = settings.aggregate_app_id, settings.report_partitions
    return (
        TopicSpec(f"{base}-race-views-by-region", n),
        TopicSpec(f"{base}-region-views-by-election", n),
    )


async def replication_factor(admin: AIOKafkaAdminClient, wanted: int) -> int:
    """`wanted`, or min(3, brokers) when 0."""
    if wanted:
        return wanted
    cluster = await admin.describe_cluster()
    return max(1, min(3, len(cluster.get("brokers", [])) or 1))


async def ensure_topics(
    settings: Settings, deadline_s: float = 30.0, topics: Sequence[TopicSpec] | None = None
) -> list[str]:
    """Create the missing `topics` (default: `votewire_topics`); return the names
    created. Raises KafkaError on failure."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000
    )
    await asyncio.wait_for(admin.start(), deadline_s)
    try:
        existing = set(await admin.list_topics())
        rf = await replication_factor(admin, settings.replication)
        wanted = votewire_topics(settings) if topics is None else topics
        missing = [t for t in wanted if t.name not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                t.name,
                t.partitions,
                rf,
                topic_configs={**t.config, **({"min.insync.replicas": "2"} if rf >= 3 else {})},
            )
            for t in missing
        ]
        # Another service may create a topic between our list and our create.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def cluster_replication(settings: Settings) -> int:
    """The replication factor votewire uses on this cluster (for faust's own topics too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return await replication_factor(admin, settings.replication)
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition ids of `topic`, ascending; empty if it does not exist.

    For readers without a consumer group (which have no metadata for a topic
    until they ask): `rebuild`, tests and benches reading a topic to its end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for found in described:
        if found["topic"] == topic and found["error_code"] == 0:
            return sorted(p["partition"] for p in found["partitions"])
    return []
