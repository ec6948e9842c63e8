"""The aggregate's /metrics text, read back with prometheus_client's own parser (pure)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from votewire.aggregate.health import Offsets, Verdict
from votewire.aggregate.metrics import Metrics


def test_counts_histograms_and_lag_parse_back() -> None:
    """Folds by status, rejections by reason, batch and Redis histograms, lag per partition."""
    metrics = Metrics()
    for status, n in (("applied", 5), ("duplicate", 2)):
        metrics.count("reports_folded", n)
        metrics.count(f"reports_{status}", n)
    metrics.count("rejected_unknown_race")
    metrics.count("views-odd name")
    metrics.batch_took("fold-reports", 0.003)
    metrics.batch_took("fold-reports", 0.2)
    metrics.flush_done(0.002, written=4, skipped=1)
    metrics.offsets = lambda: {"vw.reports:0": Offsets(120, 100), "vw.reports:1": Offsets(5, 5)}
    metrics.verdict = Verdict("ok", alive=True, ready=True)
    text = metrics.exposition().decode()
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    p = "votewire_aggregate_"
    assert found[(p + "reports_folded_total", (("status", "applied"),))] == 5
    assert found[(p + "reports_folded_total", (("status", "duplicate"),))] == 2
    assert found[(p + "reports_rejected_total", (("reason", "unknown_race"),))] == 1
    assert found[(p + "views_odd_name_total", ())] == 1
    assert found[(p + "views_written_total", ())] == 4
    assert found[(p + "batch_fold_seconds_count", (("stage", "fold-reports"),))] == 2
    bucket = (("le", "0.005"), ("stage", "fold-reports"))
    assert found[(p + "batch_fold_seconds_bucket", bucket)] == 1
    assert found[(p + "redis_write_seconds_count", ())] == 1
    assert found[(p + "consumer_lag", (("partition", "0"), ("topic", "vw.reports")))] == 20
    assert found[(p + "consumer_lag", (("partition", "1"), ("topic", "vw.reports")))] == 0
    assert found[(p + "ready", ())] == 1 and found[(p + "alive", ())] == 1
    assert not any(name.endswith("_created") for name, _ in found)
