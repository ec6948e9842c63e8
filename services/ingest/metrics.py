"""The ingest service's Prometheus metrics, rendered by prometheus_client.

The intake and the middleware update plain fields (no lock: the event loop
thread only); a collector turns them into metric families at scrape time,
and the produce latency is a prometheus_client histogram. Everything is per
process and starts at zero; Prometheus's `rate()` copes with restarts.

Exposed names (all prefixed `votewire_ingest_`):

- `reports_accepted_total`: reports newly published (acknowledged by Kafka);
- `reports_duplicate_total`: retries answered as accepted, not re-published;
- `reports_rejected_total{reason}`: refused reports by first problem code;
- `dead_letters_total`: records written to the dead-letter topic;
- `produce_latency_seconds`: time from handing a report to the producer to
  Kafka's acknowledgement (histogram);
- `responses_total{status,code}`: HTTP responses by status and, for a
  refusal, its error code (`unauthenticated`, `rate_limited`,
  `body_too_large`, `unavailable`, ...; empty when the answer has none);
- `idempotency_races_total`, `idempotency_record_failures_total`: see
  `votewire.ingest.idempotency`;
- `producer_renewals_total`: see `votewire.ingest.publisher`;
- `kafka_ready`, `open_dev_mode`: gauges, 1 or 0;
- the process collector's `process_*`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

PREFIX = "votewire_ingest_"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """All ingest metrics of one process."""

    def __init__(self) -> None:
        self.accepted = 0
        self.duplicates = 0
        self.rejected: Counter[str] = Counter()
        self.dead_letters = 0
        self.responses: Counter[tuple[int, str]] = Counter()
        """(status, error code or "") -> responses."""
        self.idempotency_races = 0
        self.idempotency_record_failures = 0
        self.kafka_ready: Callable[[], bool] = lambda: False
        self.producer_renewals: Callable[[], int] = lambda: 0
        self.open_dev_mode = False
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.produce_latency = Histogram(
            PREFIX + "produce_latency_seconds",
            "From send to Kafka acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Collector(self))

    def response(self, status: int, code: str = "") -> None:
        self.responses[(status, code)] += 1

    def render(self) -> bytes:
        """The exposition text of every metric (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class _Collector:
    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        m, p = self.metrics, PREFIX
        yield CounterMetricFamily(
            p + "reports_accepted", "Reports newly published to Kafka.", m.accepted
        )
        yield CounterMetricFamily(
            p + "reports_duplicate", "Retried reports answered as accepted.", m.duplicates
        )
        rejected = CounterMetricFamily(
            p + "reports_rejected", "Refused reports by first problem code.", labels=["reason"]
        )
        for reason, n in sorted(m.rejected.items()):
            rejected.add_metric([reason], n)
        yield rejected
        yield CounterMetricFamily(
            p + "dead_letters", "Records written to the dead-letter topic.", m.dead_letters
        )
        responses = CounterMetricFamily(
            p + "responses",
            "HTTP responses by status and refusal code.",
            labels=["status", "code"],
        )
        for (status, code), n in sorted(m.responses.items()):
            responses.add_metric([str(status), code], n)
        yield responses
        yield CounterMetricFamily(
            p + "idempotency_races",
            "Same report_id, other content, in flight.",
            m.idempotency_races,
        )
        yield CounterMetricFamily(
            p + "idempotency_record_failures",
            "Acked ids not recorded.",
            m.idempotency_record_failures,
        )
        yield CounterMetricFamily(
            p + "producer_renewals", "Kafka producers replaced.", m.producer_renewals()
        )
        yield GaugeMetricFamily(
            p + "kafka_ready", "1 when the producer and definitions are up.", m.kafka_ready()
        )
        yield GaugeMetricFamily(
            p + "open_dev_mode",
            "1 when authentication is off (no credentials file).",
            m.open_dev_mode,
        )
