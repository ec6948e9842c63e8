"""Ingest's /metrics text, read back with prometheus_client's own parser (pure)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from votewire.ingest.app import error_code
from votewire.ingest.metrics import IngestMetrics


def samples(metrics: IngestMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_labels_and_the_histogram_parse_back() -> None:
    """Every family parses; counters, labelled counters and cumulative buckets read back."""
    metrics = IngestMetrics()
    metrics.accepted = 7
    metrics.rejected["sum_mismatch"] += 3
    metrics.rejected['we"ird\\reason\n'] += 1
    metrics.response(200)
    metrics.response(429, "rate_limited")
    metrics.response(429, "rate_limited")
    for value in (0.0005, 0.004, 0.004, 30.0):
        metrics.produce_latency.observe(value)
    found = samples(metrics)
    assert found[("votewire_ingest_reports_accepted_total", ())] == 7
    assert found[("votewire_ingest_reports_rejected_total", (("reason", "sum_mismatch"),))] == 3
    assert found[("votewire_ingest_reports_rejected_total", (("reason", 'we"ird\\reason\n'),))] == 1
    assert found[("votewire_ingest_responses_total", (("code", ""), ("status", "200")))] == 1
    rate_limited = (("code", "rate_limited"), ("status", "429"))
    assert found[("votewire_ingest_responses_total", rate_limited)] == 2
    bucket = "votewire_ingest_produce_latency_seconds_bucket"
    assert found[(bucket, (("le", "0.001"),))] == 1
    assert found[(bucket, (("le", "0.005"),))] == 3
    assert found[(bucket, (("le", "+Inf"),))] == 4
    assert found[("votewire_ingest_produce_latency_seconds_count", ())] == 4
    assert found[("votewire_ingest_kafka_ready", ())] == 0


def test_a_refusal_code_is_read_from_small_error_bodies_only() -> None:
    """The code of {"error": {"code": ...}}; anything else, or a large body, is ""."""
    assert error_code(b'{"error":{"code":"body_too_large","message":"x"}}') == "body_too_large"
    assert error_code(b'{"accepted":0,"rejected":1,"results":[]}') == ""
    assert error_code(b"not json") == ""
    assert error_code(b'{"error":{"code":"' + b"x" * 5000 + b'"}}') == ""
