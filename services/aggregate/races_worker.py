"""The `races` role without faust: stage 1 on a plain aiokafka consumer.

Why: in a races process under faust, its stream path (the consumer thread
and its hand-over to the event loop, the conductor, the stream iterator,
one acknowledgement object per record) cost about as much CPU as stage 1's
own fold, publication and Redis writes together (docs/proof.md, issue 14).
Here the records go from `getmany` straight to the same `BatchLoop` and
`RaceFolder` the faust worker runs, so the tally code is shared; only the
consumer glue differs.

What runs in the process: a consumer of the reports topic (group
`VOTEWIRE_AGGREGATE_APP_ID`, static membership with
`VOTEWIRE_AGGREGATE_INSTANCE_ID`), an idempotent producer (acks=all) for
stage 1's outputs and dead letters, the Redis writer, the election opener,
the heartbeat, and the pages of web.py on an aiohttp server of its own.

Contract, as the faust stage 1's (docs/aggregate.md):

- **At-least-once.** A record is acknowledged (`OffsetLedger.ack`) only once
  its fold's outputs are enqueued on the producer; every commit interval the
  acknowledged offsets are taken, the enqueued sends awaited (Kafka has them),
  and only then committed. A send Kafka refused, or a fold or publication
  that raised, exits the process at once with nothing more committed
  (`crash`): a restarted or surviving worker folds again, idempotently.
- **Assignment.** Newly assigned partitions are paused at once (in
  `on_partitions_assigned`, before aiokafka fetches from them) and re-folded
  from their start (`RaceFolder.recover`) in a task of their own, retried with
  backoff until that succeeds; then each is sought to its end offset read
  just before the re-fold (everything before it is folded; acknowledged, so
  the next commit moves there) and resumed. The callback itself returns at
  once: aiokafka heartbeats only after it, and a long re-fold inside it had
  the member expelled by its session timeout.
- **Revocation.** What is acknowledged is committed, then the states and the
  batch loop's pending records are dropped; a batch fetched before the
  revocation is never folded after it (assignment generations, read when
  the fetch returns: a fetch that waited through the rebalance returns
  records of the new assignment, which must be folded).
- **SIGTERM/SIGINT.** What is folded is published and committed, a static
  member leaves its group (`group_leave`: its partitions move at once, not
  after the session timeout; a crash leaves nothing, so a restart in place
  gets them back), the Redis writer flushed, the heartbeat deleted; the
  process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web as aiohttp_web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from votewire.aggregate.adapters import RedisVersionFloor, ReportsLog, Startup, crash
from votewire.aggregate.batch_loop import BatchLoop
from votewire.aggregate.dead_letters import DeadLetters, SizeGuard
from votewire.aggregate.flusher import ViewFlusher
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.health import Offsets, Phase
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.aggregate.lag import ConsumerBacklog
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.offset_ledger import OffsetLedger
from votewire.aggregate.openings import ElectionOpener
from votewire.aggregate.plain_kafka import Delivered, Sends
from votewire.aggregate.ports import Definitions
from votewire.aggregate.web import PAGES, WorkerHealth, answer
from votewire.config import Settings
from votewire.infra.anomaly_feed import RedisAnomalyFeed
from votewire.infra.anomaly_writer import AnomalyWriter
from votewire.infra.definition_catalog import DefinitionCatalog
from votewire.infra.group_leave import leave_group
from votewire.infra.heartbeat import RedisHeartbeats
from votewire.infra.kafka_topics import ensure_topics, stage_topics
from votewire.infra.redis_election_registry import RedisElectionRegistry
from votewire.infra.redis_views import RedisViews

log = logging.getLogger(__name__)

STAGE = "fold-reports"
COMMIT_INTERVAL_S = 0.5
POLL_MS = 1000
REVOKE_COMMIT_S = 10.0
"""How long a revocation waits for its last commit before it drops the states anyway."""
MAX_POLL_INTERVAL_MS = 600_000
"""Generous, as faust's: a member busy folding a large batch is not expelled, and a
rejoin may wait for the revocation's last commit."""


class RacesWorker:
    """Stage 1 as a plain consumer (module doc). `run(stop)` until `stop` is set."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.reports_topic
        n = settings.report_partitions
        region_spec, election_spec = stage_topics(settings)
        self.stage_specs = (region_spec, election_spec)
        self.metrics = metrics = Metrics(stall_s=settings.aggregate_stall_s)
        self.catalog = DefinitionCatalog(settings.kafka_bootstrap, settings.definitions_topic)
        self.redis = aioredis.Redis.from_url(settings.redis_url)
        views = RedisViews(self.redis, settings.redis_prefix)
        self.flusher = ViewFlusher(views, metrics, settings.aggregate_flush_ms / 1000)
        metrics.pending_views = lambda: self.flusher.pending
        self.producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            max_batch_size=512 * 1024,
            linger_ms=settings.aggregate_linger_ms,
            compression_type=settings.aggregate_compression,
        )
        self.sends = Sends(self.producer)
        definitions = Definitions(self.catalog)
        dead_letters = DeadLetters(self.sends.to(settings.dead_letter_topic), metrics)
        self.anomalies = AnomalyWriter(RedisAnomalyFeed(views))
        self.opener = ElectionOpener(
            self.catalog,
            RedisElectionRegistry(self.redis, settings.redis_prefix),
            self.flusher,
            metrics,
        )
        self.catalog.listen(self.opener.changed)

        def guarded(name: str) -> SizeGuard:
            return SizeGuard(self.sends.to(name), name, dead_letters)

        self.folder = RaceFolder(
            definitions,
            ReportsLog(settings.kafka_bootstrap, self.topic),
            RedisVersionFloor(views),
            guarded(region_spec.name),
            dead_letters,
            self.flusher,
            metrics,
            self.anomalies,
            to_nation=guarded(election_spec.name),
        )
        self.startup = Startup(self.catalog, self.flusher)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.aggregate_app_id,
            group_instance_id=settings.aggregate_instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.aggregate_fetch_wait_ms,
            max_poll_records=settings.aggregate_batch_max,
            session_timeout_ms=settings.aggregate_session_timeout_s * 1000,
            heartbeat_interval_ms=max(1000, settings.aggregate_session_timeout_s * 200),
            max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
            rebalance_timeout_ms=MAX_POLL_INTERVAL_MS,
        )
        self.ledger = OffsetLedger()
        self.loop = BatchLoop(
            STAGE,
            self.folder.fold,
            self._ack,
            metrics,
            crash,
            publish=self.folder.publish,
            backlog=ConsumerBacklog(self.consumer.highwater),
            defer_s=settings.aggregate_defer_ms / 1000,
            interval_s=settings.aggregate_publish_ms / 1000,
        )
        self.heartbeat = HeartbeatWriter(
            RedisHeartbeats(self.redis, settings.redis_prefix),
            interval_s=settings.heartbeat_interval_ms / 1000,
        )
        # Every stage's input partitions: a missing rollups process shows as unowned.
        self.health = WorkerHealth(self, metrics, 3 * n, self.heartbeat)
        self._phase = Phase.STARTING
        self._generation = 0
        """Bumped on every revocation: a batch fetched before it is not folded after it."""
        self._step = asyncio.Lock()
        self._commit = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._recovery: asyncio.Task[None] | None = None
        self._site: aiohttp_web.AppRunner | None = None
        self.poll_ms = POLL_MS
        """How long one `getmany` waits for records."""

    # --- Progress (web.py) ---------------------------------------------------------

    def phase(self) -> Phase:
        return self._phase

    def offsets(self) -> dict[str, Offsets]:
        found: dict[str, Offsets] = {}
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)
            if end is not None:
                found[f"{tp.topic}:{tp.partition}"] = Offsets(end, self.ledger.done(tp.partition))
        return found

    def owned(self) -> int:
        return len(self.consumer.assignment())

    # --- life --------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await ensure_topics(self.settings)
        await ensure_topics(self.settings, topics=self.stage_specs)
        await self._serve_pages()
        await self.producer.start()
        self.consumer.subscribe([self.topic], listener=_Listener(self))
        await self.consumer.start()
        consume = asyncio.create_task(self._consume(), name="fold-reports")
        self._tasks = [
            consume,
            asyncio.create_task(self._every(COMMIT_INTERVAL_S, self.commit), name="commits"),
            asyncio.create_task(self._every(1.0, self.health.tick), name="health"),
            asyncio.create_task(self._every(self.heartbeat.interval_s, self.health.beat)),
            asyncio.create_task(self._open(), name="opener"),
        ]
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([consume, stopped], return_when=asyncio.FIRST_COMPLETED)
        if consume.done() and not consume.cancelled() and consume.exception() is not None:
            log.critical("the reports consumer failed", exc_info=consume.exception())
            crash(STAGE)
        stopped.cancel()
        await self.close()

    async def close(self) -> None:
        """The clean stop of the module doc."""
        await self._stop_recovery()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        async with self._step:
            if not await self.loop.drain():
                return  # crash() has exited the process
        with contextlib.suppress(KafkaError, asyncio.TimeoutError):
            await asyncio.wait_for(self.commit(), REVOKE_COMMIT_S)
        await self.consumer.stop()
        if self.settings.aggregate_instance_id:
            # A static member does not leave by stopping: its partitions would wait
            # for it a whole session timeout (group_leave.py).
            await leave_group(
                self.settings.kafka_bootstrap,
                self.settings.aggregate_app_id,
                self.settings.aggregate_instance_id,
            )
        await self.producer.stop()
        await self.health.stop()
        await self.opener.stop()
        await self.flusher.stop()
        await self.anomalies.stop()
        await self.catalog.stop()
        await self.redis.aclose()
        if self._site is not None:
            await self._site.cleanup()

    async def _open(self) -> None:
        await self.startup.ready()
        self.opener.start()

    async def _every(self, seconds: float, job: Any) -> None:
        """Run `job` every `seconds`; one that raises is logged and counted, and runs
        again next time (a timer that died would stop committing or beating for good)."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                self.metrics.count("timer_errors")
                log.exception("%s failed; again in %.1f s", getattr(job, "__name__", job), seconds)

    async def _serve_pages(self) -> None:
        app = aiohttp_web.Application()
        for path in PAGES:
            app.router.add_get(path, self._page(path))
        runner = aiohttp_web.AppRunner(app, access_log=None)
        await runner.setup()
        site = aiohttp_web.TCPSite(runner, self.settings.host, self.settings.aggregate_port)
        await site.start()
        self._site = runner

    def _page(self, path: str) -> Any:
        async def page(request: aiohttp_web.Request) -> aiohttp_web.Response:
            status, body, content_type = answer(self.health, path)
            return aiohttp_web.Response(
                body=body, status=status, headers={"Content-Type": content_type}
            )

        return page

    # --- the stage ---------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            got = await self.consumer.getmany(timeout_ms=self.poll_ms)
            # The generation as the records come back, not as the call went out: a
            # getmany that waited through a rebalance returns records of the new
            # assignment (aiokafka discards fetches of a revoked one), and dropping them
            # would lose them, the consumer's position being already past them.
            generation = self._generation
            events = [
                Delivered(r.key, r.value, tp.partition, r.offset, r.timestamp / 1000, r.headers, tp)
                for tp, records in got.items()
                for r in records
            ]
            if not events:
                continue
            async with self._step:
                if generation != self._generation or self._phase is not Phase.RUNNING:
                    self.metrics.count("stale_batches_dropped")
                    continue
                await self.loop.step(events)

    async def _ack(self, event: Delivered) -> None:
        self.ledger.ack(event.partition, event.offset)

    async def commit(self) -> None:
        """Commit what is acknowledged, once the sends before it are in Kafka."""
        async with self._commit:
            offsets = self.ledger.take()
            try:
                await self.sends.settle()
            except Exception:
                crash(STAGE)
            if not offsets:
                return
            try:
                await self.consumer.commit(
                    {TopicPartition(self.topic, p): o for p, o in offsets.items()}
                )
            except KafkaError as exc:  # a rebalance under way: the revocation commits
                self.ledger.untake(offsets)
                self.metrics.count("commit_failures")
                log.warning("commit of %s failed (%s); retried next interval", offsets, exc)
                return
            self.ledger.committed(offsets)

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        self._phase = Phase.RECOVERING
        await self._stop_recovery()
        async with self._step:
            self._generation += 1
            try:
                await asyncio.wait_for(self.commit(), REVOKE_COMMIT_S)
            except (TimeoutError, KafkaError) as exc:
                log.warning("revocation: last commit failed (%s); the next owner re-folds", exc)
            self.loop.forget()
            self.folder.forget()
            self.ledger.forget()

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """Pause the assigned partitions and re-fold them in the background.

        Not inside this callback: aiokafka sends no heartbeat until the callback
        returns, so a re-fold longer than the session timeout (a takeover of
        10^6 reports takes ~40 s) had the member expelled and the re-fold begun
        again. Paused, the partitions fetch nothing until `_recover` resumes them."""
        self._phase = Phase.RECOVERING
        mine = [tp for tp in partitions if tp.topic == self.topic]
        self.consumer.pause(*mine)
        self._recovery = asyncio.create_task(self._recover(mine, self._generation), name="re-fold")

    async def _recover(self, partitions: list[TopicPartition], generation: int) -> None:
        """Re-fold `partitions` from their start, until that succeeds; then resume them."""
        mine = {tp.partition for tp in partitions}
        delay = 1.0
        while True:
            self.metrics.recovering += 1
            try:
                await asyncio.wait_for(self.startup.ready(), 30.0)
                # Read before the re-fold, which reads its own ends later: it folds at
                # least this far, so consuming goes on from here (seek, below).
                ends = await self.consumer.end_offsets(partitions)
                count = await self.folder.recover(mine)
                break
            except Exception:
                self.metrics.count("recover_errors")
                log.exception("re-folding partitions %s failed; retrying", sorted(mine))
            finally:
                self.metrics.recovering -= 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        for tp in partitions:
            with contextlib.suppress(KafkaError):
                self.ledger.committed({tp.partition: await self.consumer.committed(tp)})
        if generation != self._generation:
            return  # revoked meanwhile (and cancelled too late): the next assignment re-folds
        for tp in partitions:
            # Whatever the position was (the committed offset, or past records dropped
            # while recovering), the re-fold holds everything before `ends`.
            self.consumer.seek(tp, ends[tp])
            if ends[tp] > self.ledger.done(tp.partition):
                self.ledger.ack(tp.partition, ends[tp] - 1)  # folded, outputs enqueued
        self.consumer.resume(*partitions)
        self.metrics.count("recoveries")
        log.info("re-published %d races of partitions %s", count, sorted(mine))
        self._phase = Phase.RUNNING

    async def _stop_recovery(self) -> None:
        task, self._recovery = self._recovery, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: RacesWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.worker.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.worker.assigned(set(assigned))


async def serve(settings: Settings) -> None:
    """Run a races worker until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await RacesWorker(settings).run(stop)
