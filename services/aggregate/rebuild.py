"""`votewire rebuild`: rewrite every Redis view from the race-snapshots topic.

For a Redis that lost its data (a fresh instance, a flush, an eviction), while
the pipeline keeps running:

1. read the compacted race-snapshots topic from its start to its current end
   (no consumer group) and keep the newest view per race (by version; the
   topic may not be compacted yet);
2. fold them with the same pure functions the stages use
   (`channels.election_outputs`): race, region, national, turnout and
   race-list documents, identical bytes at identical versions;
3. write them with the conditional `put_view`, pipelined.

Safe at any time: a document never replaces a newer one (the live stages may
have written past the snapshot read in step 1), and running it twice writes
nothing the second time. Redis's epoch key is created by the first write into
an empty Redis, so clients see a new epoch and resync.

Views of races whose snapshot was never sent (the worker crashed between its
state write and the send) come back when the owning worker's next rebalance
re-publishes them; a race-snapshots topic that lost data cannot be rebuilt
from here (replay the reports instead).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from votewire.aggregate.channels import election_outputs
from votewire.aggregate.ports import Output
from votewire.config import Settings
from votewire.core.codec import loads
from votewire.core.views import RaceView
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.kafka_topics import topic_partitions
from votewire.infra.redis_views import RedisViews

log = logging.getLogger(__name__)

WRITE_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class RebuildResult:
    elections: int
    races: int
    written: int
    skipped: int
    """Documents Redis already held at the same or a newer version."""
    unknown: int
    """Snapshots of elections no longer defined (not written)."""


async def latest_race_views(bootstrap: str, topic: str) -> dict[str, dict[str, RaceView]]:
    """election_id -> race_id -> newest race view on `topic`, read to its current end."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    latest: dict[str, dict[str, RaceView]] = {}
    try:
        parts = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
        if not parts:
            return latest
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        while any([await consumer.position(tp) < end[tp] for tp in parts]):
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    if record.value is None:
                        continue
                    view = cast(RaceView, loads(record.value))
                    races = latest.setdefault(view["election_id"], {})
                    kept = races.get(view["race_id"])
                    if kept is None or kept["version"] < view["version"]:
                        races[view["race_id"]] = view
    finally:
        await consumer.stop()
    return latest


async def rebuild_views(
    settings: Settings, elections: Sequence[str] | None = None
) -> RebuildResult:
    """Steps 1-3 of the module doc; returns what was done."""
    views = await latest_race_views(settings.kafka_bootstrap, settings.race_snapshots_topic)
    catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
    await catalog.start()
    try:
        definitions = catalog.all()
    finally:
        await catalog.stop()
    outputs: list[Output] = []
    unknown = races = done = 0
    for election_id, race_views in sorted(views.items()):
        if elections and election_id not in elections:
            continue
        definition = definitions.get(election_id)
        if definition is None:
            unknown += len(race_views)
            log.warning("no definition for %s: %d snapshots skipped", election_id, len(race_views))
            continue
        known = {r: v for r, v in race_views.items() if definition.race(r) is not None}
        outputs += election_outputs(definition, known)
        races += len(known)
        done += 1
    written = await write_outputs(settings, outputs)
    return RebuildResult(done, races, written, len(outputs) - written, unknown)


async def write_outputs(settings: Settings, outputs: Sequence[tuple[str, int, bytes]]) -> int:
    """Conditional pipelined writes; returns how many were newer than Redis's."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        views = RedisViews(client, settings.redis_prefix)
        written = 0
        for start in range(0, len(outputs), WRITE_CHUNK):
            seqs = await views.put_views(outputs[start : start + WRITE_CHUNK])
            written += sum(seq is not None for seq in seqs)
        return written
    finally:
        await client.aclose()
