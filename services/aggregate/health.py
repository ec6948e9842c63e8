"""The aggregate worker's health rules: alive, ready, and why not (pure, clock injected).

Inputs, sampled by the caller (services/aggregate/web.py, once a second and
on every health request): the worker's `Phase`, and per input partition its
`Offsets` (the log's end, and the first offset this process has not yet
folded: its acknowledged frontier, or the group's committed offset when
that is further; lag.py reads both from faust's consumer).

Rules:

- **stalled** (not alive, not ready) only when a partition has input waiting
  (`end > done`) and its `done` offset has not moved for `stall_s` seconds
  while the worker was running. The clock of a partition starts when input
  is first seen waiting, restarts whenever `done` moves, and is dropped
  whenever the worker is not running (a rebalance, table recovery): so a
  long quiet spell, a restart or a recovery never counts towards a stall,
  and a burst after an idle hour is not "stalled" on its first sample.
- **starting** / **recovering** (alive, not ready): before the first
  assignment, and while faust rebalances or restores tables. A liveness probe
  must not kill a worker for recovering.
- **redis_unreachable** (alive, not ready): Redis writes have failed for
  `redis_grace_s`; restarting the worker would not bring Redis back.
- **ok** otherwise.

Committed offsets are never assumed 0: `done` comes from the consumer, so a
worker that restarts with everything folded and commits nothing (no new
input) has zero lag, not "everything since offset 0".
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Clock = Callable[[], float]


class Phase(enum.Enum):
    STARTING = "starting"
    RECOVERING = "recovering"
    RUNNING = "running"


@dataclass(frozen=True, slots=True)
class Offsets:
    """One input partition: `end` = next offset the log will write (highwater),
    `done` = first offset this worker has not folded and acknowledged."""

    end: int
    done: int

    @property
    def pending(self) -> int:
        return max(0, self.end - self.done)


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    """"ok", "starting", "recovering", "stalled" or "redis_unreachable"."""
    alive: bool
    """False only for "stalled": a restart is the cure (liveness)."""
    ready: bool
    """True only for "ok": the worker is folding what arrives (readiness)."""
    pending: int = 0
    """Records waiting, summed over the partitions."""
    stalled: tuple[str, ...] = field(default=())
    """Partitions with input waiting and no progress for `stall_s`."""

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "alive": self.alive,
            "ready": self.ready,
            "pending": self.pending,
            "stalled_partitions": list(self.stalled),
        }


class HealthRules:
    """The rules of the module doc; one per worker. `observe` may be called at any rate."""

    def __init__(
        self, clock: Clock = time.monotonic, stall_s: float = 60.0, redis_grace_s: float = 10.0
    ) -> None:
        self.clock = clock
        self.stall_s = stall_s
        self.redis_grace_s = redis_grace_s
        self._waiting: dict[str, tuple[int, float]] = {}
        """partition -> (its `done` when last seen moving, since when it has not moved)."""
        self._redis_failing_since: float | None = None

    def redis_failed(self) -> None:
        if self._redis_failing_since is None:
            self._redis_failing_since = self.clock()

    def redis_ok(self) -> None:
        self._redis_failing_since = None

    def observe(self, phase: Phase, partitions: Mapping[str, Offsets]) -> Verdict:
        now = self.clock()
        pending = sum(o.pending for o in partitions.values())
        if phase is not Phase.RUNNING:
            self._waiting.clear()
            return Verdict(phase.value, alive=True, ready=False, pending=pending)
        stalled = self._stalled(now, partitions)
        if stalled:
            return Verdict("stalled", alive=False, ready=False, pending=pending, stalled=stalled)
        failing = self._redis_failing_since
        if failing is not None and now - failing > self.redis_grace_s:
            return Verdict("redis_unreachable", alive=True, ready=False, pending=pending)
        return Verdict("ok", alive=True, ready=True, pending=pending)

    def _stalled(self, now: float, partitions: Mapping[str, Offsets]) -> tuple[str, ...]:
        for gone in self._waiting.keys() - partitions.keys():
            del self._waiting[gone]
        stalled = []
        for name, offsets in sorted(partitions.items()):
            if offsets.pending == 0:
                self._waiting.pop(name, None)
                continue
            seen = self._waiting.get(name)
            if seen is None or seen[0] != offsets.done:
                self._waiting[name] = (offsets.done, now)
            elif now - seen[1] >= self.stall_s:
                stalled.append(name)
        return tuple(stalled)
