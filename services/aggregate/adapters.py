"""Stage adapters that need no faust: what both the faust worker (app.py) and the
plain-consumer races worker (races_worker.py) wire into stage 1.

- `ReportsLog`: `folder.PartitionLog` on the reports topic (a group-less read);
- `RedisVersionFloor`: `folder.VersionFloor` from Redis;
- `Startup`: the definition catalog and the Redis writer, started once on first need;
- `crash`: what a stage does with a batch it could not fold or publish.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any, NoReturn, Protocol

from votewire.aggregate.ports import Record
from votewire.infra.redis_views import RedisViews
from votewire.infra.topic_log import KafkaLog

log = logging.getLogger(__name__)


class Starting(Protocol):
    """What `Startup` starts: the catalog (`async start`) or the writer (`start`)."""

    def start(self) -> Any: ...


class ReportsLog:
    """`folder.PartitionLog` on the reports topic: a group-less `KafkaLog` read of the
    given partitions, from their first offset to their end as of the call."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic

    async def batches(self, partitions: set[int]) -> AsyncIterator[list[Record]]:
        async with KafkaLog(self.bootstrap) as log_:
            bounds = {p: b for p, b in (await log_.bounds(self.topic)).items() if p in partitions}
            async for records in log_.batches(self.topic, bounds):
                yield [Record(r.key, r.value, r.partition, r.headers) for r in records]


class RedisVersionFloor:
    """`folder.VersionFloor`: the versions Redis holds (what readers were shown)."""

    def __init__(self, views: RedisViews) -> None:
        self.views = views

    async def versions(self, channels: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(channels), 1000):
            found.update(await self.views.versions(channels[start : start + 1000]))
        return found


class Startup:
    """Starts the definition catalog and the Redis writer once, on first need.

    faust starts `app.task`s only after table recovery, but the recovery
    callbacks already need definitions; whichever comes first starts them.
    A catalog start that failed (Kafka unreachable, say) is tried again by the
    next `ready()` (the callers retry with backoff); the writer starts once."""

    def __init__(self, catalog: Starting, flusher: Starting) -> None:
        self.catalog = catalog
        self.flusher = flusher
        self._task: asyncio.Future[None] | None = None
        self._flusher_started = False

    async def ready(self) -> None:
        task = self._task
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            self._task = task = asyncio.ensure_future(self._start())
        await asyncio.shield(task)

    async def _start(self) -> None:
        if not self._flusher_started:
            self._flusher_started = True
            self.flusher.start()
        await self.catalog.start()


def crash(stage: str) -> NoReturn:
    """Exit at once, the failed batch unacknowledged (crash-only, at-least-once).

    The per-record paths are total, so only an infrastructure failure or a bug
    gets here (a send the producer gave up on, say). faust would restart the
    agent and, with `take_events`, acknowledge the failed batch; its changes
    could then be lost. Exiting without acknowledging anything makes the
    failure visible and safe: a restarted or surviving worker folds again from
    the last committed offsets, idempotently."""
    log.critical("stage %s failed a batch; exiting without acknowledging it", stage, exc_info=True)
    logging.shutdown()
    os._exit(70)
