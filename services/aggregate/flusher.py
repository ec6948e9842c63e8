"""The coalescing Redis writer: many view changes in, few pipelined writes out.

Stages `offer(channel, version, doc)` whenever a view changes. The flusher
keeps only the newest offer per channel (a dirty map) and writes the map in
one pipelined round trip (`RedisViews.put_views`) at most every `interval_s`:
a race changing 50 times in 100 ms is written two or three times, not 50.
At low rates nothing waits: an offer after a quiet period is written at once.

Guarantees and their limits:
- versions never go backwards in Redis: every write is the conditional
  `put_view` (a stale or repeated offer is skipped by the script; at an
  equal version the newest offer is kept, so an opening offered again from a
  corrected definition is the one written, `infra.views.replaces`);
- offers survive Redis outages and refusals: a failed flush puts its views
  back (unless superseded) and retries with backoff; stages never wait on
  Redis;
- offers do NOT survive the process: they happen outside faust's commit
  path, so a crash can lose views whose offsets were committed. The stages
  therefore re-offer every view they own after each rebalance/recovery
  (`recover`), and `votewire rebuild` restores a wiped Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis
from votewire.aggregate.metrics import Metrics
from votewire.infra.views import BadChannel, check_channel

log = logging.getLogger(__name__)

RETRYABLE = (aioredis.RedisError, OSError)
"""Kept and retried: a lost connection, a timeout, and also a refusal (OOM, a
read-only replica); a refused view stays dirty and is counted until Redis takes it."""


class ViewWriter(Protocol):
    async def put_views(self, items: Sequence[tuple[str, int, bytes]]) -> list[int | None]: ...
    async def put_rows(self, items: Sequence[tuple[str, str, bytes]]) -> None: ...


class ViewFlusher:
    """`ports.ViewSink` writing to Redis; see the module doc."""

    def __init__(
        self,
        writer: ViewWriter,
        metrics: Metrics,
        interval_s: float = 0.05,
        max_batch: int = 1000,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.interval_s = interval_s
        self.max_batch = max_batch
        self._dirty: dict[str, tuple[int, bytes]] = {}
        self._since: dict[str, float] = {}
        """When each dirty channel was first offered since its last write."""
        self._rows: dict[tuple[str, str], bytes] = {}
        """(table, key) -> newest row (precinct results); unconditional, owner-written."""
        self._wake = asyncio.Event()
        self._last_flush = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._dirty) + len(self._rows)

    def offer_row(self, table: str, key: str, row: bytes) -> None:
        """The newest row of `key` in `table` (precinct results), written with the views."""
        self._rows[(table, key)] = row
        self._wake.set()

    def offer(self, channel: str, version: int, doc: bytes) -> None:
        try:
            check_channel(channel)
        except BadChannel:
            self.metrics.count("bad_channels")
            log.error("view for malformed channel %r dropped", channel)
            return
        kept = self._dirty.get(channel)
        if kept is None or version >= kept[0]:
            self._dirty[channel] = (version, doc)
        if channel not in self._since:
            self._since[channel] = time.monotonic()
        self.metrics.count("views_offered")
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="view-flusher")

    async def stop(self, deadline_s: float = 5.0) -> None:
        """Stop the loop, then try one last flush within `deadline_s`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(TimeoutError, *RETRYABLE):
            await asyncio.wait_for(self.flush(), deadline_s)

    async def run(self) -> None:
        backoff = 0.1
        while True:
            await self._wake.wait()
            wait = self._last_flush + self.interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # coalescing window
            self._wake.clear()
            try:
                await self.flush()
                backoff = 0.1
            except RETRYABLE as exc:
                self.metrics.flush_failed()
                log.warning("redis flush failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._wake.set()
            except Exception:  # a bug: keep the loop alive, the views are lost
                self.metrics.count("flush_dropped")
                log.exception("flush failed unexpectedly; its views are dropped")
            self._last_flush = time.monotonic()

    async def flush(self) -> None:
        """Write everything dirty now; on a retryable error, keep what was not written."""
        rows, self._rows = self._rows, {}
        try:
            for start in range(0, len(rows), self.max_batch):
                chunk = list(rows.items())[start : start + self.max_batch]
                await self.writer.put_rows([(table, key, row) for (table, key), row in chunk])
        except RETRYABLE:
            for item, row in rows.items():
                self._rows.setdefault(item, row)
            raise
        batch, self._dirty = self._dirty, {}
        since, self._since = self._since, {}
        items = [(channel, version, doc) for channel, (version, doc) in batch.items()]
        for start in range(0, len(items), self.max_batch):
            chunk = items[start : start + self.max_batch]
            began = time.perf_counter()
            try:
                seqs = await self.writer.put_views(chunk)
            except RETRYABLE:
                self._restore(items[start:], since)
                raise
            written = sum(seq is not None for seq in seqs)
            self.metrics.flush_done(time.perf_counter() - began, written, len(seqs) - written)
            now = time.monotonic()
            for channel, _, _ in chunk:
                self.metrics.offer_age.add(now - since.get(channel, now))

    def _restore(self, items: Sequence[tuple[str, int, bytes]], since: dict[str, float]) -> None:
        for channel, version, doc in items:
            kept = self._dirty.get(channel)
            if kept is None or kept[0] < version:
                self._dirty[channel] = (version, doc)
            self._since[channel] = min(
                since.get(channel, time.monotonic()), self._since.get(channel, time.monotonic())
            )
