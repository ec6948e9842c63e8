"""The aggregate worker's web pages, health clock and heartbeat, wired by `install`.

Pages on faust's web server (VOTEWIRE_HOST:VOTEWIRE_AGGREGATE_PORT; it
listens from start-up on, before table recovery):

- `GET /livez`: liveness. 200 unless "stalled" (health.py): a probe that
  restarts the worker on 503 never kills a starting or recovering one.
- `GET /readyz`: readiness. 200 only when "ok": running, folding what
  arrives, Redis writable. 503 with the status otherwise.
- `GET /healthz`: the same verdict as /readyz (what the launcher waits on).
  All three answer the verdict as JSON: status, alive, ready, pending,
  stalled_partitions.
- `GET /metrics`: Prometheus text (metrics.py).
- `GET /stats`: the JSON figures (`Metrics.snapshot`) the benches and drills read.

Timers: each second the verdict is taken (and an unhealthy episode logged
once, stall_report.py); every VOTEWIRE_HEARTBEAT_INTERVAL_MS the verdict and
the count of input partitions this worker owns are written as its heartbeat
(heartbeat.py). `stop()` deletes the heartbeat: call it on shutdown, before
the Redis client closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import faust
from faust.web import Request, Response, View
from votewire.aggregate.health import Offsets, Verdict
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.aggregate.lag import check_consumer, owned_partitions, partition_offsets, phase
from votewire.aggregate.metrics import CONTENT_TYPE, Metrics
from votewire.aggregate.stall_report import StallReport

EPISODES = ("stalled", "redis_unreachable")
"""Statuses logged as unhealthy episodes; starting and recovering are not."""


class WorkerHealth:
    """Samples the worker's health for the pages, timers and heartbeat."""

    def __init__(
        self,
        app: faust.App,
        metrics: Metrics,
        topics: Iterable[faust.TopicT],
        heartbeat: HeartbeatWriter,
    ) -> None:
        check_consumer()
        self.app = app
        self.metrics = metrics
        topics = tuple(topics)
        self.topics = tuple(t.get_topic_name() for t in topics)
        self.partitions = sum(t.partitions or 0 for t in topics)
        """Input partitions of the whole group, every stage's topic together."""
        self.heartbeat = heartbeat
        self.report = StallReport()
        metrics.offsets = self.offsets

    def offsets(self) -> dict[str, Offsets]:
        return partition_offsets(self.app, self.topics)

    def check(self) -> Verdict:
        verdict = self.metrics.rules.observe(phase(self.app), self.offsets())
        self.metrics.verdict = verdict
        return verdict

    def lag(self) -> dict[str, int]:
        return {name: o.pending for name, o in self.offsets().items()}

    async def tick(self) -> None:
        self.metrics.tick()
        verdict = self.check()
        self.report.observe(verdict.status not in EPISODES, verdict.status)

    async def beat(self) -> None:
        owned = owned_partitions(self.app, self.topics)
        await self.heartbeat.beat(self.check(), owned, self.partitions)

    async def stop(self) -> None:
        await self.heartbeat.stop()


def _verdict_response(view: View, verdict: Verdict, ok: bool) -> Response:
    return view.json(verdict.to_dict(), status=200 if ok else 503)


def install(
    app: faust.App,
    metrics: Metrics,
    topics: Iterable[faust.TopicT],
    heartbeat: HeartbeatWriter,
    pending_views: Any = None,
) -> WorkerHealth:
    """Register the pages and timers of the module doc on `app`; return the sampler."""
    health = WorkerHealth(app, metrics, topics, heartbeat)
    if pending_views is not None:
        metrics.pending_views = pending_views

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def health_tick() -> None:
        await health.tick()

    @app.timer(heartbeat.interval_s)  # type: ignore[untyped-decorator]
    async def heartbeat_tick() -> None:
        await health.beat()

    @app.page("/livez")
    async def livez(self: View, request: Request) -> Response:
        verdict = health.check()
        return _verdict_response(self, verdict, verdict.alive)

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        verdict = health.check()
        return _verdict_response(self, verdict, verdict.ready)

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        verdict = health.check()
        body = {**verdict.to_dict(), "alarms": metrics.alarms()}  # dead letters, refused outputs
        return self.json(body, status=200 if verdict.ready else 503)

    @app.page("/metrics")
    async def metrics_page(self: View, request: Request) -> Response:
        health.check()  # the alive/ready gauges say what a health request would
        return self.bytes(metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @app.page("/stats")
    async def stats_page(self: View, request: Request) -> Response:
        body = metrics.snapshot(health.lag())
        body["redis_pending_views"] = metrics.pending_views()
        body["health"] = health.check().to_dict()
        return self.bytes(json.dumps(body).encode(), content_type="application/json")

    return health
