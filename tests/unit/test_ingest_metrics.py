"""The hand-written Prometheus exposition of ingest's metrics (pure)."""

from __future__ import annotations

import re

from votewire.ingest.metrics import IngestMetrics

SAMPLE = re.compile(r'^[a-z_]+(\{[a-z]+="(?:[^"\\]|\\.)*"\})? -?[0-9.e+-]+$')


def test_every_line_is_a_comment_or_a_well_formed_sample() -> None:
    """The text parses as exposition format 0.0.4, label values escaped."""
    metrics = IngestMetrics()
    metrics.rejected['we"ird\\reason\n'] += 1
    metrics.responses[503] += 2
    metrics.produce_latency.observe(0.004)
    for line in metrics.render().splitlines():
        assert line.startswith("# ") or SAMPLE.match(line), line


def test_counters_and_histogram_buckets_are_cumulative() -> None:
    """Counters show their values; a histogram's buckets count everything at or below."""
    metrics = IngestMetrics()
    metrics.accepted = 7
    metrics.rejected["sum_mismatch"] += 3
    for value in (0.0005, 0.004, 0.004, 30.0):
        metrics.produce_latency.observe(value)
    text = metrics.render()
    assert "votewire_ingest_reports_accepted_total 7\n" in text
    assert 'votewire_ingest_reports_rejected_total{reason="sum_mismatch"} 3\n' in text
    assert 'votewire_ingest_produce_latency_seconds_bucket{le="0.001"} 1\n' in text
    assert 'votewire_ingest_produce_latency_seconds_bucket{le="0.005"} 3\n' in text
    assert 'votewire_ingest_produce_latency_seconds_bucket{le="10"} 3\n' in text
    assert 'votewire_ingest_produce_latency_seconds_bucket{le="+Inf"} 4\n' in text
    assert "votewire_ingest_produce_latency_seconds_count 4\n" in text
