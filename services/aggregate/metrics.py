"""What the aggregate worker measures, and its health verdict.

`Metrics` is one per worker: plain counters (`count`), recent Redis write
latencies, a per-second rate of folded reports (`tick`, called each second),
and the time of the last batch. `snapshot(lag)` renders everything as the
JSON of `GET /metrics`; `health(lag)` decides `GET /healthz`:

- 503 "stalled" if reports are waiting (lag > 0) and no batch has been
  processed for `stall_s` seconds: the agent is dead or stuck while the
  worker process still runs;
- 503 "redis_unreachable" if every Redis flush has failed for `stall_s`;
- 200 otherwise.

Consumer lag is measured by the caller (it reads faust's consumer) and
passed in as partition -> messages behind.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

Clock = Callable[[], float]


class LatencySamples:
    """The latest `size` durations (seconds); quantiles in milliseconds."""

    def __init__(self, size: int = 2048) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def summary(self) -> dict[str, float | int]:
        data = sorted(self._samples)
        if not data:
            return {"count": 0}
        return {
            "count": len(data),
            "p50_ms": round(statistics.median(data) * 1000, 3),
            "p99_ms": round(data[min(len(data) - 1, int(len(data) * 0.99))] * 1000, 3),
            "max_ms": round(data[-1] * 1000, 3),
        }


class Metrics:
    def __init__(self, clock: Clock = time.monotonic, stall_s: float = 60.0) -> None:
        self.clock = clock
        self.stall_s = stall_s
        self.counters: Counter[str] = Counter()
        self.redis_write = LatencySamples()
        self.record_age: dict[str, LatencySamples] = {}
        """Per stage: wall time from a record's Kafka timestamp to the fold of its batch."""
        self.batch_time: dict[str, LatencySamples] = {}
        """Per stage: wall time to fold a batch and enqueue its sends."""
        self.offer_age = LatencySamples()
        """From a view's first offer to the end of the Redis write that carried it."""
        self.started_at = clock()
        self.last_batch_at = self.started_at
        self.last_flush_ok_at = self.started_at
        self.flush_failing = False
        self.reports_per_s = 0.0
        self.recovering = 0
        """Recoveries under way (stage 1 re-folding its partitions): alive, not stalled."""
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=6)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def ages(self, stage: str, seconds: list[float]) -> None:
        samples = self.record_age.get(stage)
        if samples is None:
            samples = self.record_age[stage] = LatencySamples()
        for age in seconds:
            samples.add(age)

    def batch_took(self, stage: str, seconds: float) -> None:
        samples = self.batch_time.get(stage)
        if samples is None:
            samples = self.batch_time[stage] = LatencySamples()
        samples.add(seconds)

    def batch_done(self, size: int) -> None:
        self.last_batch_at = self.clock()
        self.counters["batches"] += 1
        self.counters["events"] += size

    def flush_done(self, seconds: float, written: int, skipped: int) -> None:
        self.redis_write.add(seconds)
        self.last_flush_ok_at = self.clock()
        self.flush_failing = False
        self.counters["flushes"] += 1
        self.counters["views_written"] += written
        self.counters["views_skipped"] += skipped

    def flush_failed(self) -> None:
        self.flush_failing = True
        self.counters["flush_errors"] += 1

    def tick(self) -> None:
        """Sample the folded-report count; the rate spans the last few seconds."""
        now = self.clock()
        self._rate_window.append((now, self.counters["reports_folded"]))
        (t0, n0), (t1, n1) = self._rate_window[0], self._rate_window[-1]
        self.reports_per_s = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def health(self, lag: Mapping[str, int]) -> tuple[bool, str]:
        now = self.clock()
        if self.recovering:
            self.last_batch_at = now  # a long re-fold is progress, not a stall
            return True, "recovering"
        if sum(lag.values()) > 0 and now - self.last_batch_at > self.stall_s:
            return False, "stalled"
        if self.flush_failing and now - self.last_flush_ok_at > self.stall_s:
            return False, "redis_unreachable"
        return True, "ok"

    def snapshot(self, lag: Mapping[str, int]) -> dict[str, Any]:
        now = self.clock()
        return {
            "uptime_s": round(now - self.started_at, 1),
            "reports_per_s": round(self.reports_per_s, 1),
            "consumer_lag": dict(lag),
            "consumer_lag_total": sum(lag.values()),
            "seconds_since_last_batch": round(now - self.last_batch_at, 3),
            "redis_write_latency": self.redis_write.summary(),
            "record_age_at_fold": {k: v.summary() for k, v in sorted(self.record_age.items())},
            "batch_fold_time": {k: v.summary() for k, v in sorted(self.batch_time.items())},
            "offer_to_redis": self.offer_age.summary(),
            "counters": dict(sorted(self.counters.items())),
            "alarms": self.alarms(),
            "recovering": self.recovering,
        }

    def alarms(self) -> dict[str, int]:
        """What an operator must look at: dead letters (by reason) and refused outputs."""
        return {
            k: v
            for k, v in sorted(self.counters.items())
            if (k.startswith("dead_letters") or k == "outputs_too_large") and v
        }
