"""What the aggregate worker measures, as Prometheus metrics and as JSON.

`Metrics` is one per worker. The stages call `count(name, n)`, `batch_took`,
`batch_done`, `ages`; the flusher `flush_done` / `flush_failed` and
`offer_age.add`; the web module `tick()` each second. Everything lands in a
prometheus_client registry of its own (`registry`, rendered by
`exposition()` for `GET /metrics`) and in plain fields for the JSON of
`GET /stats` (`snapshot`).

Prometheus names (all prefixed `votewire_aggregate_`):

- `reports_folded_total{status}`: reports folded, by what the fold did
  (applied, duplicate, stale, conflict: from `count("reports_<status>")`);
- `reports_rejected_total{reason}`: records dead-lettered by stage 1
  (`count("rejected_<reason>")`);
- `<name>_total` for every other `count(name)` (views_written, flushes,
  flush_errors, recoveries, batches, events, ...);
- `batch_fold_seconds{stage}`, `redis_write_seconds`, `record_age_seconds{stage}`
  (Kafka timestamp to fold), `offer_to_redis_seconds`: histograms;
- `consumer_lag{topic,partition}`: records waiting, against what this
  process has folded (lag.py); `alive`, `ready`: the health verdict (1/0);
  `redis_pending_views`: views waiting for the Redis writer.

`health(lag)` is the older verdict from lag numbers alone, kept for callers
that have no offsets; the worker itself decides with `health.HealthRules`.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from votewire.aggregate.health import HealthRules, Offsets, Phase, Verdict

Clock = Callable[[], float]
PREFIX = "votewire_aggregate_"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
AGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")


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


class Timing(LatencySamples):
    """Recent samples for the JSON, and the same observations in a Prometheus histogram."""

    def __init__(self, histogram: Any) -> None:
        super().__init__()
        self.histogram = histogram

    def add(self, seconds: float) -> None:
        super().add(seconds)
        self.histogram.observe(seconds)


class Metrics:
    def __init__(self, clock: Clock = time.monotonic, stall_s: float = 60.0) -> None:
        self.clock = clock
        self.stall_s = stall_s
        self.counters: Counter[str] = Counter()
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series
        self.registry = CollectorRegistry()
        self._batch_hist = _histogram(self, "batch_fold_seconds", "Fold of a batch.", ("stage",))
        self._age_hist = _histogram(
            self, "record_age_seconds", "Kafka timestamp to fold.", ("stage",), AGE_BUCKETS
        )
        self.redis_write = Timing(
            _histogram(self, "redis_write_seconds", "One pipelined write of views to Redis.")
        )
        self.offer_age = Timing(
            _histogram(self, "offer_to_redis_seconds", "First offer of a view to its write.")
        )
        """From a view's first offer to the end of the Redis write that carried it."""
        self.record_age: dict[str, LatencySamples] = {}
        """Per stage: wall time from a record's Kafka timestamp to the fold of its batch."""
        self.batch_time: dict[str, LatencySamples] = {}
        """Per stage: wall time to fold a batch and enqueue its sends."""
        self.started_at = clock()
        self.last_batch_at = self.started_at
        self.last_flush_ok_at = self.started_at
        self.flush_failing = False
        self.reports_per_s = 0.0
        self.recovering = 0
        """Recoveries under way (stage 1 re-folding its partitions): alive, not stalled."""
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=6)
        self.rules = HealthRules(clock, stall_s)
        """The worker's health rules (web.py feeds them offsets; Redis outcomes come here)."""
        self._lag_rules = HealthRules(clock, stall_s)
        self.offsets: Callable[[], Mapping[str, Offsets]] = dict
        """Set by the worker's wiring: the input partitions' offsets now (lag.py)."""
        self.verdict: Verdict | None = None
        """The latest health verdict (web.py), for the `alive`/`ready` gauges."""
        self.pending_views: Callable[[], int] = lambda: 0
        self.registry.register(_Collector(self))

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def ages(self, stage: str, seconds: list[float]) -> None:
        samples = self.record_age.get(stage)
        if samples is None:
            samples = self.record_age[stage] = Timing(self._age_hist.labels(stage))
        for age in seconds:
            samples.add(age)

    def batch_took(self, stage: str, seconds: float) -> None:
        samples = self.batch_time.get(stage)
        if samples is None:
            samples = self.batch_time[stage] = Timing(self._batch_hist.labels(stage))
        samples.add(seconds)

    def batch_done(self, size: int) -> None:
        self.last_batch_at = self.clock()
        self.counters["batches"] += 1
        self.counters["events"] += size

    def flush_done(self, seconds: float, written: int, skipped: int) -> None:
        self.redis_write.add(seconds)
        self.last_flush_ok_at = self.clock()
        self.flush_failing = False
        self.rules.redis_ok()
        self._lag_rules.redis_ok()
        self.counters["flushes"] += 1
        self.counters["views_written"] += written
        self.counters["views_skipped"] += skipped

    def flush_failed(self) -> None:
        self.flush_failing = True
        self.rules.redis_failed()
        self._lag_rules.redis_failed()
        self.counters["flush_errors"] += 1

    def tick(self) -> None:
        """Sample the folded-report count; the rate spans the last few seconds."""
        now = self.clock()
        self._rate_window.append((now, self.counters["reports_folded"]))
        (t0, n0), (t1, n1) = self._rate_window[0], self._rate_window[-1]
        self.reports_per_s = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def health(self, lag: Mapping[str, int]) -> tuple[bool, str]:
        """(alive, status) from lag alone: stalled when a partition's lag stays above 0,
        unchanged, for `stall_s` (a changing lag is progress or new input)."""
        verdict = self._lag_rules.observe(
            Phase.RUNNING, {name: Offsets(0, -behind) for name, behind in lag.items()}
        )
        return verdict.ready, verdict.status

    def exposition(self) -> bytes:
        """Every metric, in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)

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
        """What an operator must look at: dead letters (by reason), refused outputs, and
        timers of the races worker that raised (a bug: commits or beats were missed)."""
        return {
            k: v
            for k, v in sorted(self.counters.items())
            if (k.startswith("dead_letters") or k in ALARMED) and v
        }


ALARMED = ("outputs_too_large", "timer_errors")


def _histogram(
    metrics: Metrics,
    name: str,
    help_: str,
    labels: tuple[str, ...] = (),
    buckets: tuple[float, ...] = SECONDS_BUCKETS,
) -> Any:
    return Histogram(PREFIX + name, help_, labels, registry=metrics.registry, buckets=buckets)


class _Collector:
    """The counters, lag and verdict, rendered from `Metrics` at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # names depend on what was counted; nothing to check up front

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        folded = CounterMetricFamily(
            PREFIX + "reports_folded", "Reports folded, by what the fold did.", labels=["status"]
        )
        rejected = CounterMetricFamily(
            PREFIX + "reports_rejected", "Records dead-lettered by stage 1.", labels=["reason"]
        )
        others = []
        for name, value in sorted(m.counters.items()):
            if name == "reports_folded":
                continue  # the sum of reports_folded_total over its statuses
            if name.startswith("reports_"):
                folded.add_metric([name.removeprefix("reports_")], value)
            elif name.startswith("rejected_"):
                rejected.add_metric([name.removeprefix("rejected_")], value)
            else:
                family = PREFIX + _NOT_A_NAME.sub("_", name)
                others.append(CounterMetricFamily(family, f"Count of {name}.", value=value))
        yield folded
        yield rejected
        yield from others
        lag = GaugeMetricFamily(
            PREFIX + "consumer_lag",
            "Records waiting on an assigned input partition, past what this worker folded.",
            labels=["topic", "partition"],
        )
        for name, offsets in sorted(m.offsets().items()):
            topic, _, partition = name.rpartition(":")
            lag.add_metric([topic, partition], offsets.pending)
        yield lag
        verdict = m.verdict
        yield GaugeMetricFamily(
            PREFIX + "alive", "1 unless stalled (liveness).",
            value=int(verdict is None or verdict.alive),
        )  # fmt: skip
        yield GaugeMetricFamily(
            PREFIX + "ready", "1 when folding what arrives (readiness).",
            value=int(verdict is not None and verdict.ready),
        )  # fmt: skip
        yield GaugeMetricFamily(
            PREFIX + "redis_pending_views", "Views waiting for the Redis writer.",
            value=m.pending_views(),
        )  # fmt: skip
