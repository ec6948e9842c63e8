"""deploy/grafana/votewire.json graphs only metrics the three services really export."""

from __future__ import annotations

import json
import re
from collections import Counter
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families
from votewire.aggregate.health import Offsets
from votewire.aggregate.metrics import Metrics
from votewire.config import REPO_ROOT
from votewire.infra.heartbeat import Pipeline
from votewire.ingest.metrics import IngestMetrics
from votewire.live.metrics import LiveMetrics

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "votewire.json"
NAME = re.compile(r"\bvotewire_[a-z_]+")


def exported(text: bytes) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def every_exported_name() -> set[str]:
    aggregate = Metrics()
    for name in ("reports_applied", "rejected_undecodable", "recoveries", "recover_errors"):
        aggregate.count(name)
    aggregate.batch_took("fold-reports", 0.01)
    aggregate.ages("fold-reports", [0.1])
    aggregate.flush_done(0.01, 1, 1)
    aggregate.flush_failed()
    aggregate.offsets = lambda: {"vw.reports:0": Offsets(1, 0)}
    ingest = IngestMetrics()
    ingest.rejected["x"] += 1
    ingest.response(200)
    ingest.produce_latency.observe(0.01)
    hub = SimpleNamespace(subscriptions=lambda: 0, channels=list, written_direct=0, published=0)
    ctx = SimpleNamespace(
        sessions=0,
        hub=hub,
        frames_sent=0,
        pacer=SimpleNamespace(superseded=0),
        closes=Counter({"slow": 1}),
        feed=SimpleNamespace(connected=True, connects=1, received=0),
        pipeline=SimpleNamespace(stale=False, pipeline=Pipeline("live", "ok", 1.0, 1)),
    )
    live = LiveMetrics(ctx)  # type: ignore[arg-type]
    texts = (aggregate.exposition(), ingest.render(), live.exposition())
    return set().union(*(exported(text) for text in texts))


def test_every_graphed_metric_is_exported() -> None:
    """Each votewire_* name in a panel query is a sample some service's /metrics has."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) > 20
    graphed = {name for expr in exprs for name in NAME.findall(expr)}
    missing = graphed - every_exported_name()
    assert not missing, f"the dashboard graphs metrics nobody exports: {sorted(missing)}"
    assert {p["id"] for p in dashboard["panels"]} == set(range(1, len(dashboard["panels"]) + 1))
