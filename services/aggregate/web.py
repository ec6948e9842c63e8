"""The aggregate worker's web pages, health clock and heartbeat, wired by `install`.

Pages on VOTEWIRE_HOST:VOTEWIRE_AGGREGATE_PORT, served from start-up on, before
table recovery: by faust's web server (`install`), or in a races worker
without faust by its own aiohttp server (races_worker.py), both through
`answer`:

- `GET /livez`: liveness. 200 unless "stalled" (health.py): a probe that
  restarts the worker on 503 never kills a starting or recovering one.
- `GET /readyz`: readiness. 200 only when "ok": running, folding what
  arrives, Redis writable. 503 with the status otherwise.
- `GET /healthz`: the same verdict as /readyz (what the launcher waits on).
  All three answer the verdict as JSON: status, alive, ready, pending,
  stalled_partitions.
- `GET /metrics`: Prometheus text (metrics.py).
- `GET /stats`: the JSON figures (`Metrics.snapshot`) the benches and drills read.

The health rules read the consumer through a `Progress`: `FaustProgress` for
a faust worker, the races worker's own otherwise.

Timers: each second the verdict is taken (and an unhealthy episode logged
once, stall_report.py); every VOTEWIRE_HEARTBEAT_INTERVAL_MS the verdict and
the count of input partitions this worker owns are written as its heartbeat
(heartbeat.py). `stop()` deletes the heartbeat: call it on shutdown, before
the Redis client closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

import faust
from faust.web import Request, Response, View
from votewire.aggregate.health import Offsets, Phase, Verdict
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.aggregate.lag import check_consumer, owned_partitions, partition_offsets, phase
from votewire.aggregate.metrics import CONTENT_TYPE, Metrics
from votewire.aggregate.stall_report import StallReport

JSON = "application/json"
EPISODES = ("stalled", "redis_unreachable")
"""Statuses logged as unhealthy episodes; starting and recovering are not."""


class Progress(Protocol):
    """What the health rules read of a worker's consumer."""

    def phase(self) -> Phase: ...
    def offsets(self) -> dict[str, Offsets]:
        """`Offsets` per "topic:partition" assigned to this worker (those whose end is known)."""
        ...

    def owned(self) -> int:
        """How many input partitions are assigned to this worker now."""
        ...


class FaustProgress:
    """`Progress` of a faust worker's consumer, on `topics` (lag.py)."""

    def __init__(self, app: faust.App, topics: Iterable[str]) -> None:
        check_consumer()
        self.app = app
        self.topics = tuple(topics)

    def phase(self) -> Phase:
        return phase(self.app)

    def offsets(self) -> dict[str, Offsets]:
        return partition_offsets(self.app, self.topics)

    def owned(self) -> int:
        return owned_partitions(self.app, self.topics)


class WorkerHealth:
    """Samples the worker's health for the pages, timers and heartbeat.

    `partitions`: the input partitions of the whole deployment, every stage's
    topic together (the heartbeat says how many of them this worker owns)."""

    def __init__(
        self,
        progress: Progress,
        metrics: Metrics,
        partitions: int,
        heartbeat: HeartbeatWriter,
    ) -> None:
        self.progress = progress
        self.metrics = metrics
        self.partitions = partitions
        self.heartbeat = heartbeat
        self.report = StallReport()
        metrics.offsets = self.offsets

    def offsets(self) -> dict[str, Offsets]:
        return self.progress.offsets()

    def check(self) -> Verdict:
        verdict = self.metrics.rules.observe(self.progress.phase(), self.offsets())
        self.metrics.verdict = verdict
        return verdict

    def lag(self) -> dict[str, int]:
        return {name: o.pending for name, o in self.offsets().items()}

    async def tick(self) -> None:
        self.metrics.tick()
        verdict = self.check()
        self.report.observe(verdict.status not in EPISODES, verdict.status)

    async def beat(self) -> None:
        await self.heartbeat.beat(self.check(), self.progress.owned(), self.partitions)

    async def stop(self) -> None:
        await self.heartbeat.stop()


PAGES = ("/livez", "/readyz", "/healthz", "/metrics", "/stats")


def answer(health: WorkerHealth, path: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of one of `PAGES` (the module doc), whatever serves it."""
    metrics = health.metrics
    verdict = health.check()  # the /metrics gauges too say what a health request would
    if path == "/metrics":
        return 200, metrics.exposition(), CONTENT_TYPE
    if path == "/stats":
        body = metrics.snapshot(health.lag())
        body["redis_pending_views"] = metrics.pending_views()
        body["health"] = verdict.to_dict()
        return 200, json.dumps(body).encode(), JSON
    ok = {"/livez": verdict.alive}.get(path, verdict.ready)
    doc = verdict.to_dict()
    if path == "/healthz":
        doc["alarms"] = metrics.alarms()  # dead letters, refused outputs
    return 200 if ok else 503, json.dumps(doc).encode(), JSON


def install(
    app: faust.App,
    metrics: Metrics,
    topics: Iterable[faust.TopicT],
    heartbeat: HeartbeatWriter,
    pending_views: Any = None,
) -> WorkerHealth:
    """Register the pages and timers of the module doc on `app`; return the sampler."""
    topics = tuple(topics)
    progress = FaustProgress(app, (t.get_topic_name() for t in topics))
    partitions = sum(t.partitions or 0 for t in topics)
    health = WorkerHealth(progress, metrics, partitions, heartbeat)
    if pending_views is not None:
        metrics.pending_views = pending_views

    @app.timer(1.0)  # type: ignore[untyped-decorator]
    async def health_tick() -> None:
        await health.tick()

    @app.timer(heartbeat.interval_s)  # type: ignore[untyped-decorator]
    async def heartbeat_tick() -> None:
        await health.beat()

    for path in PAGES:
        app.page(path)(_faust_page(health, path))
    return health


def _faust_page(health: WorkerHealth, path: str) -> Any:
    async def page(self: View, request: Request) -> Response:
        status, body, content_type = answer(health, path)
        # As a header: aiohttp refuses a content_type argument that names a charset.
        return self.bytes(body, status=status, headers={"Content-Type": content_type})

    page.__name__ = page.__qualname__ = path.strip("/") + "_page"
    return page
