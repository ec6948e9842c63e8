"""`votewire rebuild`: rewrite every Redis view from the reports topic.

For a Redis that lost its data (a fresh instance, a flush, an eviction), while
the pipeline keeps running:

1. read the definitions, then the reports topic from its start to its current
   end (no consumer group, `infra.topic_log.KafkaLog`), and fold it with the
   pipeline's own code (`replay.log_fold.LogFold`: the core's `RaceState` per
   race, in offset order, so versions are those stage 1 publishes);
2. build every document with the same pure functions the stages use
   (`channels.tally_outputs`): race, region, national, turnout and
   race-list documents, identical bytes at identical versions;
3. write them with the conditional `put_view`, pipelined;
4. restore each election's anomaly feed (`anomalies:E`): the flags the fold
   raised (`core.anomaly.flag_anomaly`, the sender read from each record's
   credential header, as the live fold does) and the election's dead letters
   (the dead-letter topic, as `anomalies.DeadLetterFollower` does). The feed
   keeps an anomaly once by its id, so anomalies Redis still holds are not
   appended again; a feed lost with Redis comes back in log order.

Safe at any time: a document never replaces a newer one (the live stages may
have written past the end read in step 1), and running it twice writes
nothing the second time. Redis's epoch key is created by the first write into
an empty Redis, so clients see a new epoch and resync. Cost: one pass over
the reports topic (the same pass a worker makes when it takes a partition
over, docs/aggregate.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from votewire.aggregate.channels import tally_outputs
from votewire.aggregate.ports import Output
from votewire.config import Settings
from votewire.core.anomaly import Anomaly, dead_letter_anomaly, flag_anomaly, read_dead_letter
from votewire.core.codec import dumps
from votewire.core.models import Report
from votewire.core.precinct_rows import precincts_table
from votewire.core.race_call import RaceCall
from votewire.core.race_state import ApplyResult
from votewire.core.report_headers import credential_of
from votewire.infra.anomaly_feed import RedisAnomalyFeed
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.redis_views import RedisViews
from votewire.infra.topic_log import KafkaLog, LogRecord
from votewire.replay.log_fold import LogFold

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
    """Reports of elections no longer defined (not folded)."""
    anomalies: int = 0
    """Anomalies appended to the feeds (not already there)."""




async def rebuild_views(
    settings: Settings, elections: Sequence[str] | None = None
) -> RebuildResult:
    """Steps 1-3 of the module doc; returns what was done."""
    catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
    await catalog.start()
    try:
        definitions = catalog.all()
    finally:
        await catalog.stop()
    wanted = [e for e in definitions if not elections or e in elections]
    anomalies: list[Anomaly] = []

    def on_flags(record: LogRecord, event: Report | RaceCall, result: ApplyResult) -> None:
        sender = credential_of(record.headers)
        definition = definitions[event.election_id]
        anomalies.extend(flag_anomaly(definition, flag, event, sender) for flag in result.flags)

    fold = LogFold(definitions, elections=wanted, on_flags=on_flags)
    async with KafkaLog(settings.kafka_bootstrap) as log_:
        bounds = await log_.bounds(settings.reports_topic)
        async for records in log_.batches(settings.reports_topic, bounds):
            fold.offer_all(records)
        letters = await log_.bounds(settings.dead_letter_topic)
        async for records in log_.batches(settings.dead_letter_topic, letters):
            for record in records:
                letter = read_dead_letter(record.value)
                if letter is not None and letter["election_id"] in wanted:
                    definition = definitions[letter["election_id"]]
                    anomalies.append(dead_letter_anomaly(letter, definition))
    outputs: list[Output] = []
    rows: list[tuple[str, str, bytes]] = []
    races = 0
    for _, tally in sorted(fold.tallies.items()):
        outputs += tally_outputs(tally)
        races += sum(state.version > 0 for state in tally.races.values())
        for race_id, state in tally.races.items():
            table = precincts_table(tally.definition.election_id, race_id)
            rows += [(table, pid, dumps(row)) for pid, row in state.precinct_rows(every=True)]
    written = await write_outputs(settings, outputs, rows)
    restored = await write_anomalies(settings, anomalies)
    unknown = fold.skipped["unknown_election"]
    if unknown:
        log.warning("%d report(s) of elections no longer defined were skipped", unknown)
    return RebuildResult(
        len(fold.tallies), races, written, len(outputs) - written, unknown, restored
    )


async def write_anomalies(settings: Settings, anomalies: Sequence[Anomaly]) -> int:
    """Append `anomalies` to their elections' feeds, in order; how many were new."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        feed = RedisAnomalyFeed(RedisViews(client, settings.redis_prefix))
        added = 0
        for start in range(0, len(anomalies), WRITE_CHUNK):
            appended = await feed.append_many(anomalies[start : start + WRITE_CHUNK])
            added += sum(1 for a in appended if a.added)
        return added
    finally:
        await client.aclose()


async def write_outputs(
    settings: Settings,
    outputs: Sequence[tuple[str, int, bytes]],
    rows: Sequence[tuple[str, str, bytes]] = (),
) -> int:
    """Conditional pipelined writes (and the precinct `rows`); returns how many views were
    newer than Redis's."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        views = RedisViews(client, settings.redis_prefix)
        for start in range(0, len(rows), WRITE_CHUNK):
            await views.put_rows(rows[start : start + WRITE_CHUNK])
        written = 0
        for start in range(0, len(outputs), WRITE_CHUNK):
            seqs = await views.put_views(outputs[start : start + WRITE_CHUNK])
            written += sum(seq is not None for seq in seqs)
        return written
    finally:
        await client.aclose()
