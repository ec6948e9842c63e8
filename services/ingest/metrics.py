"""The ingest service's Prometheus metrics, in the text exposition format 0.0.4.

Hand-written (a handful of counters and one histogram do not need a client
library). Everything is per process and starts at zero; Prometheus's
`rate()` copes with restarts. Updates happen on the event loop thread only.

Exposed names (all prefixed `votewire_ingest_`):

- `reports_accepted_total`: reports newly published (acknowledged by Kafka);
- `reports_duplicate_total`: retries answered as accepted, not re-published;
- `reports_rejected_total{reason}`: refused reports by first problem code;
- `dead_letters_total`: records written to the dead-letter topic;
- `produce_latency_seconds`: time from handing a report to the producer to
  Kafka's acknowledgement (histogram);
- `responses_total{status}`: HTTP responses by status code;
- `idempotency_races_total`, `idempotency_record_failures_total`: see
  `votewire.ingest.idempotency`;
- `producer_renewals_total`: see `votewire.ingest.publisher`;
- `kafka_ready`, `open_dev_mode`: gauges, 1 or 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

PREFIX = "votewire_ingest_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Histogram:
    """Cumulative-bucket histogram of observed values."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * len(self.bounds)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
                break

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{le="{_number(bound)}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out.append(f"{name}_sum {_number(self.sum)}")
        out.append(f"{name}_count {self.count}")
        return out


class IngestMetrics:
    """All ingest metrics of one process."""

    def __init__(self) -> None:
        self.accepted = 0
        self.duplicates = 0
        self.rejected: Counter[str] = Counter()
        self.dead_letters = 0
        self.responses: Counter[int] = Counter()
        self.idempotency_races = 0
        self.idempotency_record_failures = 0
        self.produce_latency = Histogram(LATENCY_BUCKETS)
        self.kafka_ready: Callable[[], bool] = lambda: False
        self.producer_renewals: Callable[[], int] = lambda: 0
        self.open_dev_mode = False

    def render(self) -> str:
        """The exposition text of every metric."""
        p = PREFIX
        families = [
            ("reports_accepted_total", "counter", "Reports newly published to Kafka.",
             [f"{p}reports_accepted_total {self.accepted}"]),
            ("reports_duplicate_total", "counter", "Retried reports answered as accepted.",
             [f"{p}reports_duplicate_total {self.duplicates}"]),
            ("reports_rejected_total", "counter", "Refused reports by first problem code.",
             _labelled(f"{p}reports_rejected_total", "reason", self.rejected)),
            ("dead_letters_total", "counter", "Records written to the dead-letter topic.",
             [f"{p}dead_letters_total {self.dead_letters}"]),
            ("produce_latency_seconds", "histogram", "From send to Kafka acknowledgement.",
             self.produce_latency.lines(f"{p}produce_latency_seconds")),
            ("responses_total", "counter", "HTTP responses by status code.",
             _labelled(f"{p}responses_total", "status", self.responses)),
            ("idempotency_races_total", "counter", "Same report_id, other content, in flight.",
             [f"{p}idempotency_races_total {self.idempotency_races}"]),
            ("idempotency_record_failures_total", "counter", "Acked ids not recorded.",
             [f"{p}idempotency_record_failures_total {self.idempotency_record_failures}"]),
            ("kafka_ready", "gauge", "1 when the producer and definitions are up.",
             [f"{p}kafka_ready {int(self.kafka_ready())}"]),
            ("open_dev_mode", "gauge", "1 when authentication is off (no credentials file).",
             [f"{p}open_dev_mode {int(self.open_dev_mode)}"]),
        ]  # fmt: skip
        out: list[str] = []
        for name, kind, help_, samples in families:
            out += [f"# HELP {p}{name} {help_}", f"# TYPE {p}{name} {kind}", *samples]
        return "\n".join(out) + "\n"


def _labelled(name: str, label: str, values: Counter[str] | Counter[int]) -> list[str]:
    ordered = sorted(values.items(), key=lambda kv: str(kv[0]))
    return [f'{name}{{{label}="{_escape(str(k))}"}} {v}' for k, v in ordered]
