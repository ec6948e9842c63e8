"""The aggregate worker's heartbeat writer (format and key: votewire.infra.heartbeat).

`beat(verdict, owned, of)` rewrites this worker's field with its health
verdict and how many of the input partitions it owns; the web module calls
it on a timer (VOTEWIRE_HEARTBEAT_INTERVAL_MS). faust starts timers only once
the first table recovery is done, so a (re)starting worker is silent until
it folds, and readers show "stale" meanwhile.

A killed worker cannot delete its field. Readers ignore a silent field once
the beating workers own every partition again (after the rebalance that
follows the dead worker's session timeout); each beat also deletes fields
not rewritten for `FORGET_AFTER_S`, so they do not pile up. `stop()` deletes
this worker's own field (a clean exit).

Redis failures never escape: a beat that cannot be written is logged once
per outage, and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from votewire.aggregate.health import Verdict
from votewire.infra.heartbeat import FORGET_AFTER_S, Beat, HeartbeatStore

log = logging.getLogger(__name__)

FAILURES = (aioredis.RedisError, OSError, asyncio.TimeoutError)


def worker_id() -> str:
    """This process, as named in the heartbeat hash: "host:pid" (a pod name under Kubernetes)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class HeartbeatWriter:
    def __init__(
        self,
        store: HeartbeatStore,
        *,
        interval_s: float,
        worker: str | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.worker = worker or worker_id()
        self.wall = wall
        self.interval_s = interval_s
        self.failing = False
        self.beats = 0

    async def beat(self, verdict: Verdict, owned: int, of: int) -> bool:
        """Write this worker's beat and drop long-silent fields; False if Redis failed."""
        now = self.wall()
        beat = Beat(self.worker, now, verdict.status, verdict.pending, owned, of)
        try:
            await self.store.put(beat)
            gone = forgotten(await self.store.read(), now, keep=self.worker)
            if gone:
                await self.store.remove(*gone)
                log.info("heartbeat: dropped fields silent for %.0fs: %s", FORGET_AFTER_S, gone)
        except FAILURES as exc:
            if not self.failing:
                log.warning("heartbeat not written (%s); retrying every beat", exc)
            self.failing = True
            return False
        if self.failing:
            log.info("heartbeat written again")
        self.failing = False
        self.beats += 1
        return True

    async def stop(self, deadline_s: float = 2.0) -> None:
        """Delete this worker's field (a clean exit is not a silent worker)."""
        with contextlib.suppress(*FAILURES):
            await asyncio.wait_for(self.store.remove(self.worker), deadline_s)


def forgotten(fields: dict[str, bytes], now: float, keep: str) -> list[str]:
    """Workers whose beat is older than FORGET_AFTER_S; unreadable fields are left alone
    (another version's, perhaps: readers call them bad_heartbeat)."""
    old = []
    for worker, raw in fields.items():
        if worker == keep:
            continue
        try:
            at = Beat.decode(raw).at
        except ValueError:
            continue
        if now - at > FORGET_AFTER_S:
            old.append(worker)
    return sorted(old)
