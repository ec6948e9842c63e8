"""The aggregate worker's composition root: `create_app(settings)` -> faust.App.

Three stages, each a thin faust agent around a domain-core fold
(docs/aggregate.md):

    reports ──fold-reports──> <app>-race-views-by-region ──fold-regions──┐
      (key election/race;        (key election/region)                     │
       stage 1's log)                                                       │
    <app>-region-views-by-election <───────────────────────────────────────┘
      (key election) ──fold-nation──> (Redis only)

Every stage runs a `BatchLoop` over `noack_take` batches: a batch is
acknowledged only once it is folded and its sends are enqueued (a batch that
fails is never acknowledged: the worker exits, see `crash`). Stage 1 keeps
its race states in memory and re-folds an assigned reports partition from
its start before faust resumes it (`RaceFolder.recover`); stages 2 and 3
keep theirs in a `RoutedTable`. All offer views to one coalescing Redis
writer (`ViewFlusher`). Every output to a topic passes a `SizeGuard`: one
that no broker would take is dead-lettered, never sent. Agents are
registered by `register`, called from the factory: nothing at import time,
no module-level app.

Roles (`VOTEWIRE_AGGREGATE_ROLE`): `all` runs every stage in this process;
`rollups` runs stages 2 and 3 and the dead-letter follower, beside a
`races` process that runs stage 1 without faust (races_worker.py), so that
the two use two cores (one GIL each). The internal topics are named after
`aggregate_app_id` whatever the role; a rollups process is its own consumer
group, `<app id>-rollups`, with its own tables. Every role counts the
partitions of all three stages' topics in its heartbeat, so a missing role
shows as partitions unowned.

Processing guarantee: at-least-once, agent concurrency 1 (faust-streaming's
exactly-once mode and concurrency > 1 both have open bugs around rebalances
and offset commits); folds are idempotent, so re-delivery is harmless.
Rebalance: revocation drops the in-memory caches; once recovery has restored
the tables (stage 1: re-folded its partitions), each stage re-publishes every
key it now owns (`recover`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import faust
import redis.asyncio as aioredis
from votewire.aggregate import web
from votewire.aggregate.adapters import RedisVersionFloor, ReportsLog, Startup, crash
from votewire.aggregate.anomalies import DeadLetterFollower
from votewire.aggregate.batch_loop import BatchLoop
from votewire.aggregate.dead_letters import DeadLetters, SizeGuard
from votewire.aggregate.flusher import ViewFlusher
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.aggregate.lag import ConsumerBacklog
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.national_stage import NationalStage
from votewire.aggregate.openings import ElectionOpener
from votewire.aggregate.ports import Definitions, Record
from votewire.aggregate.rollups import RegionStage
from votewire.aggregate.state_table import RoutedTable, routed_table
from votewire.aggregate.transport import COMMIT_EVERY_NEVER
from votewire.aggregate.transport import install as install_transport
from votewire.config import Settings
from votewire.infra.anomaly_feed import RedisAnomalyFeed
from votewire.infra.anomaly_writer import AnomalyWriter
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.heartbeat import RedisHeartbeats
from votewire.infra.kafka_topics import stage_topics
from votewire.infra.redis_election_registry import RedisElectionRegistry
from votewire.infra.redis_views import RedisViews

log = logging.getLogger(__name__)

CATALOG_WAIT_S = 30.0


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def create_app(settings: Settings, replication: int = 1) -> faust.App:
    sys.setswitchinterval(settings.aggregate_switch_interval_us / 1e6)
    datadir = settings.state_dir / "aggregate" / f"{settings.aggregate_app_id}-data"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        group_id(settings),
        broker=broker_url(settings.kafka_bootstrap),
        store="memory://",
        # No standby replicas: a worker that takes over a partition rebuilds its
        # table from the changelog instead of trusting a standby copy (faust's
        # standby hand-over has lost updates on takeover in our kill tests).
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # Packed views can exceed aiokafka's default 16 KiB batch; an oversized
        # record then travels alone, one round trip per record and partition.
        producer_max_batch_size=512 * 1024,
        producer_compression_type=settings.aggregate_compression,
        producer_linger=settings.aggregate_linger_ms / 1000,
        topic_partitions=settings.report_partitions,
        topic_replication_factor=replication,
        topic_allow_declare=True,
        web_host=settings.host,
        web_bind=settings.host,  # faust binds 0.0.0.0 unless told
        web_port=settings.aggregate_port,
        web_in_thread=False,
        # Commits happen on the timer only: faust's fetcher awaits a commit
        # (a producer flush plus an OffsetCommit round trip) every
        # `broker_commit_every` acks, and fetches nothing meanwhile (at 100: a
        # stall every 100 records). Re-delivery after a crash grows to at most
        # one interval of input, which the idempotent fold ignores.
        broker_commit_every=COMMIT_EVERY_NEVER,
        broker_commit_interval=0.5,
        broker_session_timeout=settings.aggregate_session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.aggregate_session_timeout_s / 5),
        # A restarted worker under its old instance id takes its partitions back at
        # once (KIP-345) rather than after the dead member's session times out.
        consumer_group_instance_id=settings.aggregate_instance_id,
        consumer_auto_offset_reset="earliest",
        datadir=str(datadir),
    )
    install_transport(app, settings.aggregate_fetch_wait_ms)
    register(app, settings)
    return app


def group_id(settings: Settings) -> str:
    """The faust app id (consumer group, table changelog prefix) of this process's role."""
    if settings.aggregate_role == "rollups":
        return f"{settings.aggregate_app_id}-rollups"
    return settings.aggregate_app_id


class TopicSender:
    """`ports.Downstream` on faust's producer: enqueued now; faust flushes its
    producer before it commits offsets (at-least-once). Raw bytes, default
    partitioner (murmur2 of the key, like every aiokafka/Java producer)."""

    def __init__(self, app: faust.App, topic: faust.TopicT) -> None:
        self.app = app
        self.topic = topic.get_topic_name()

    async def send(self, key: bytes | None, value: bytes) -> None:
        await self.app.producer.send(self.topic, key, value, None, None, None)


@dataclass
class Aggregate:
    """The parts `register` wired, for the web pages and tests."""

    metrics: Metrics
    flusher: ViewFlusher
    folder: RaceFolder
    regions: RegionStage
    nation: NationalStage


def raw_topic(app: faust.App, name: str, partitions: int, *, internal: bool) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=internal,
    )


def register(app: faust.App, settings: Settings) -> Aggregate:
    """Declare the topics, tables, agents, hooks and pages of the aggregate on `app`."""
    n = settings.report_partitions
    if settings.aggregate_role not in ("all", "rollups"):
        raise ValueError(
            f"a faust worker runs the all or rollups role, not {settings.aggregate_role!r} "
            "(races: races_worker.py)"
        )
    races_here = settings.aggregate_role == "all"
    reports = raw_topic(app, settings.reports_topic, n, internal=False)
    dead_letter_topic = raw_topic(app, settings.dead_letter_topic, 1, internal=False)
    region_spec, election_spec = stage_topics(settings)
    by_region = raw_topic(app, region_spec.name, n, internal=True)
    by_election = raw_topic(app, election_spec.name, n, internal=True)

    metrics = Metrics(stall_s=settings.aggregate_stall_s)
    catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    views = RedisViews(redis_client, settings.redis_prefix)
    flusher = ViewFlusher(views, metrics, settings.aggregate_flush_ms / 1000)
    definitions = Definitions(catalog)
    dead_letters = DeadLetters(TopicSender(app, dead_letter_topic), metrics)
    anomalies = AnomalyWriter(RedisAnomalyFeed(views))  # flags and dead letters -> anomalies:E
    # Each election learnt: its race index, retirement mark, and zero-count views.
    opener = ElectionOpener(
        catalog, RedisElectionRegistry(redis_client, settings.redis_prefix), flusher, metrics
    )
    if races_here:  # one role writes the opening views, not both
        catalog.listen(opener.changed)

    def guarded(topic: faust.TopicT) -> SizeGuard:
        return SizeGuard(TopicSender(app, topic), topic.get_topic_name(), dead_letters)

    folder = RaceFolder(
        definitions,
        ReportsLog(settings.kafka_bootstrap, settings.reports_topic),
        RedisVersionFloor(views),
        guarded(by_region),
        dead_letters,
        flusher,
        metrics,
        anomalies,
        to_nation=guarded(by_election),
    )
    region_races = routed_table(app, "region-races", n)
    nation_regions = routed_table(app, "nation-regions", n)
    regions = RegionStage(definitions, region_races, guarded(by_election), flusher, metrics)
    nation = NationalStage(definitions, nation_regions, flusher, metrics)
    parts = Aggregate(metrics, flusher, folder, regions, nation)
    startup = Startup(catalog, flusher)

    batch_max = settings.aggregate_batch_max

    loops: list[BatchLoop] = []

    def stage_agent(
        topic: faust.TopicT,
        name: str,
        fold: Callable[[list[Record]], Awaitable[None]],
        window_s: float,
        **deferral: Any,
    ) -> None:
        async def run(stream: faust.StreamT[bytes]) -> None:
            assert isinstance(stream, faust.Stream)  # noack_take is not on StreamT
            loop = BatchLoop(name, fold, stream.ack, metrics, crash, **deferral)
            loops.append(loop)
            batches = cast(Any, stream.noack_take(batch_max, window_s))
            try:
                await loop.run(batches)
            finally:
                loops.remove(loop)

        run.__qualname__ = run.__name__ = name.replace("-", "_")
        app.agent(topic, concurrency=1, name=name)(run)

    # Stage 1 batches briefly (latency of race views), publishes at most once per
    # interval and, while behind, defers publishing (batch_loop.py: a late worker
    # renders a race once per window, not once per batch); stages 2 and 3 batch
    # as long as the Redis writer coalesces: a region or the nation is folded at
    # most once per window, however many races changed in it.
    if races_here:
        stage_agent(
            reports,
            "fold-reports",
            folder.fold,
            settings.aggregate_batch_ms / 1000,
            publish=folder.publish,
            backlog=ConsumerBacklog(lambda tp: app.consumer.highwater(tp)),
            defer_s=settings.aggregate_defer_ms / 1000,
            interval_s=settings.aggregate_publish_ms / 1000,
        )
        # Holds nothing: faust runs a table's recover callbacks after each assignment
        # and before it resumes the stream partitions, which is when stage 1 re-folds.
        reports_assigned = routed_table(app, "fold-reports-assigned", n)
        on_recover(app, reports_assigned, reports, folder.recover, startup, metrics, must=True)
    coalesce_s = max(settings.aggregate_batch_ms, settings.aggregate_flush_ms) / 1000
    stage_agent(by_region, "fold-regions", regions.fold_batch, coalesce_s)
    stage_agent(by_election, "fold-nation", nation.fold_batch, coalesce_s)
    follower = DeadLetterFollower(definitions, anomalies, metrics)
    stage_agent(dead_letter_topic, "follow-dead-letters", follower.fold_batch, coalesce_s)
    on_recover(app, region_races, by_region, regions.recover, startup, metrics)
    on_recover(app, nation_regions, by_election, nation.recover, startup, metrics)

    @app.on_partitions_revoked.connect
    async def on_revoked(*args: Any, **kwargs: Any) -> None:
        for loop in loops:
            loop.forget()
        folder.forget()
        regions.forget()
        nation.forget()

    @app.task  # type: ignore[untyped-decorator]
    async def start() -> None:
        await startup.ready()
        if races_here:
            opener.start()

    heartbeat = HeartbeatWriter(
        RedisHeartbeats(redis_client, settings.redis_prefix),
        interval_s=settings.heartbeat_interval_ms / 1000,
    )
    health = web.install(
        app, metrics, (reports, by_region, by_election), heartbeat, lambda: flusher.pending
    )

    @app.on_before_shutdown.connect
    async def on_shutdown(*args: Any, **kwargs: Any) -> None:
        await health.stop()
        await opener.stop()
        await flusher.stop()
        await anomalies.stop()
        await catalog.stop()
        await redis_client.aclose()

    app.aggregate = parts  # type: ignore[attr-defined]
    return parts


def on_recover(
    app: faust.App,
    table: RoutedTable,
    source: faust.TopicT,
    recover: Callable[[set[int]], Awaitable[int]],
    startup: Startup,
    metrics: Metrics,
    must: bool = False,
) -> None:
    """After each recovery, let the stage re-publish the keys of its active partitions.

    `must`: the stage has no state without it (stage 1's re-fold), so a failure is
    retried with backoff, holding the partitions paused, instead of being skipped."""
    topic = source.get_topic_name()

    async def callback() -> None:
        partitions = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
        delay = 1.0
        while True:
            metrics.recovering += 1
            try:
                await asyncio.wait_for(startup.ready(), CATALOG_WAIT_S)
                count = await recover(partitions)
                break
            except Exception:
                metrics.count("recover_errors")
                log.exception("recovering %s %s failed", table.name, sorted(partitions))
                if not must:
                    return
            finally:
                metrics.recovering -= 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        metrics.count("recoveries")
        log.info("%s: re-published %d keys of partitions %s", table.name, count, sorted(partitions))

    table.on_recover(callback)
