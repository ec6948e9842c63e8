"""`AnomalySink` on an anomaly feed: offers never block, a task appends them in batches.

The folds (stage 1's flags, the dead-letter follower) `offer` anomalies in
the middle of a batch; they must never wait on Redis. `AnomalyWriter` keeps
them in arrival order, at most once per `anomaly_id` while pending, stamps
each with `noticed_at` (its clock, UTC, when first offered), and a task of
its own appends them (`AnomalyFeed.append_many`, pipelined, up to
`max_batch` a round trip) as soon as they come.

Guarantees and their limits:
- an anomaly is appended once per feed: the feed dedupes by id (a re-fold
  offers every flag again), and ids written recently (the last
  `remembered`) are not even sent again;
- a failed append keeps the batch and retries with backoff (0.1 s doubling
  to 5 s); the folds never notice;
- bounded memory: past `max_pending` waiting anomalies the oldest are
  dropped and counted (`dropped`); a re-fold (every assignment of a reports
  partition) offers its flags again, dead letters are not re-read;
- offers do not survive the process, like the view flusher's; the task
  starts itself on the first offer (or `start`), `stop` tries a last append.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from votewire.infra.anomaly_feed import AnomalyFeed
from votewire.infra.views import BadChannel

log = logging.getLogger(__name__)


class AnomalyWriter:
    """`core.anomaly.AnomalySink` writing to an `AnomalyFeed`; see the module doc."""

    def __init__(
        self,
        feed: AnomalyFeed,
        max_pending: int = 10_000,
        max_batch: int = 500,
        remembered: int = 50_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.feed = feed
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.remembered = remembered
        self.clock = clock
        self.written = 0
        """Anomalies the feed took as new."""
        self.known = 0
        """Anomalies the feed already had (re-offered by a re-fold, say)."""
        self.dropped = 0
        self.errors = 0
        self._pending: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._sending: dict[str, dict[str, Any]] = {}
        """Taken by the one flush under way (`_lock`), not answered yet."""
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._sending)

    def offer(self, anomaly: Mapping[str, Any]) -> None:
        key = f"{anomaly.get('election_id')}/{anomaly.get('anomaly_id')}"
        if key in self._pending or key in self._sending or key in self._recent:
            return
        self._pending[key] = {**anomaly, "noticed_at": self.clock().isoformat()}
        while len(self._pending) > self.max_pending:
            self._pending.popitem(last=False)
            self.dropped += 1
        self._wake.set()
        if self._task is None:
            with contextlib.suppress(RuntimeError):  # no running loop: `start` will do it
                self.start()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="anomalies")

    async def stop(self, deadline_s: float = 5.0) -> None:
        """Stop the task, then try one last append within `deadline_s`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), deadline_s)

    async def run(self) -> None:
        backoff = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
                backoff = 0.1
            except Exception as exc:  # Redis away or refusing: keep them, retry
                self.errors += 1
                log.warning("anomaly append failed (%r); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)  # backoff between attempts
                backoff = min(backoff * 2, 5.0)
                self._wake.set()

    async def flush(self) -> None:
        """Append everything pending now, one flush at a time; on an error the unwritten
        stay pending, in their order, ahead of what came meanwhile."""
        async with self._lock:
            while self._pending:
                keys = list(self._pending)[: self.max_batch]
                self._sending = {k: self._pending.pop(k) for k in keys}
                batch = list(self._sending.values())
                try:
                    try:
                        answers = await self.feed.append_many(batch)
                    except (BadChannel, ValueError, KeyError):  # one bad must not block the rest
                        answers = await self._one_by_one(keys, batch)
                except BaseException:
                    self._pending = OrderedDict([*self._sending.items(), *self._pending.items()])
                    raise
                finally:
                    self._sending = {}
                for key, answer in zip(keys, answers, strict=True):
                    if answer is None:
                        continue
                    self.written += answer.added
                    self.known += not answer.added
                    self._remember(key)

    async def _one_by_one(self, keys: list[str], batch: list[dict[str, Any]]) -> list[Any]:
        answers: list[Any] = []
        for key, anomaly in zip(keys, batch, strict=True):
            try:
                answers.extend(await self.feed.append_many([anomaly]))
            except (BadChannel, ValueError, KeyError) as exc:
                self.dropped += 1
                log.error("anomaly %s dropped: %r", key, exc)
                answers.append(None)
        return answers

    def _remember(self, key: str) -> None:
        self._recent[key] = None
        while len(self._recent) > self.remembered:
            self._recent.popitem(last=False)
