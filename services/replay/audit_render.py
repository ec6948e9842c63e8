"""The audit as text for people: the differences, then the anomaly list.

Pure functions of `audit_run.AuditResult.to_dict()`. Long lists are cut at
`LIMIT` rows with a pointer to `--json`, which has everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from votewire.replay.tally_render import table

LIMIT = 25
REHEARSAL = "  REHEARSAL: a test election (its definition says test: true), not real results"


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "-"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _more(total: int, shown: int, what: str) -> str:
    return f"... and {total - shown:,} more {what} (see --json)\n" if total > shown else ""


def render_differences(doc: Mapping[str, Any]) -> str:
    diffs = doc["differences"]
    out = [
        f"Audit of {doc['election_id']}",
        *([REHEARSAL] if doc.get("test") else []),
        f"  left:  {doc['left']['source']}"
        + (f"  ({doc['left']['note']})" if doc["left"]["note"] else ""),
        f"  right: {doc['right']['source']}"
        + (f"  ({doc['right']['note']})" if doc["right"]["note"] else ""),
        "",
    ]
    if not diffs:
        out.append("No differences.\n")
        return "\n".join(out)
    out.append(f"{len(diffs):,} difference(s):")
    rows = [
        [
            d["scope"],
            d["id"] or "-",
            d["name"] or "",
            d["field"],
            _cell(d["left"]),
            _cell(d["right"]),
        ]
        for d in diffs[: LIMIT * 4]
    ]
    out.append(table(["Scope", "Id", "Name", "Field", "Left", "Right"], rows, right={4, 5}))
    out.append(_more(len(diffs), len(rows), "differences"))
    return "\n".join(out)


def _corrections(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            c["delivered_at"],
            c["commission"],
            c["kind"] + (f" {c['mark']}" if c["mark"] else ""),
            f"r{c['old_revision']} -> r{c['revision']}",
            c["credential"] or "-",
            c["old_credential"] or "-",
            "; ".join(c["changes"]) or "(same figures)",
        ]
        for c in items[:LIMIT]
    ]
    headers = ["Delivered", "Commission", "Report", "Revision", "Sent by", "Replaced", "Changes"]
    text = table(headers, rows, right=())
    return text + _more(len(items), len(rows), "corrections")


def _flags(items: list[dict[str, Any]]) -> str:
    rows = [
        [
            f["delivered_at"],
            f["code"],
            f"{f['race_id']}/{f['precinct_id']}",
            ", ".join(f"{k}={v}" for k, v in f["figures"].items()),
        ]
        for f in items[:LIMIT]
    ]
    text = table(["Delivered", "Flag", "Commission", "Figures"], rows, right=())
    return text + _more(len(items), len(rows), "flags")


def _late(items: list[dict[str, Any]], what: str) -> str:
    rows = [
        [
            i["delivered_at"],
            f"{i['race_id']}/{i['precinct_id']}",
            i["kind"] + (f" {i['mark']}" if i["mark"] else ""),
            i["report_id"],
            f"r{i['revision']}",
        ]
        for i in items[:LIMIT]
    ]
    text = table(["Delivered", "Commission", "Report", "Report id", "Revision"], rows, right=())
    return text + _more(len(items), len(rows), what)


def render_anomalies(doc: Mapping[str, Any]) -> str:
    anomalies = doc["anomalies"]
    if anomalies is None:
        return "Anomalies: no log read (--log none, or no log behind the sources).\n"
    counts = anomalies["counts"]
    out = [
        f"Anomalies (from {doc['anomalies_from']}): "
        + ", ".join(f"{k}: {v:,}" for k, v in counts.items()),
        "",
    ]
    if anomalies["corrections"]:
        out += ["Corrections:", _corrections(anomalies["corrections"])]
    if anomalies["stale"]:
        out += [
            "Stale reports (a lower revision after the winner):",
            _late(anomalies["stale"], "stale"),
        ]
    if anomalies["duplicates"]:
        out += ["Duplicate reports:", _late(anomalies["duplicates"], "duplicates")]
    if anomalies["conflicts"]:
        out += ["Conflicts:", _flags(anomalies["conflicts"])]
    if anomalies["flags"]:
        out += ["Soft validation flags:", _flags(anomalies["flags"])]
    rejected = anomalies["rejected"]
    if rejected["by_reason"]:
        rows = [[reason, f"{n:,}"] for reason, n in rejected["by_reason"].items()]
        out += ["Rejected reports by reason:", table(["Reason", "Reports"], rows)]
    out += [not_counted(rejected)] if not_counted(rejected) else []
    return "\n".join(out)


def not_counted(rejected: Mapping[str, Any]) -> str:
    """The line about dead letters left out of this election's figures ("" if none)."""
    others = rejected.get("other_elections", 0)
    nameless = sum(rejected.get("unattributed", {}).values())
    if not others and not nameless:
        return ""
    return (
        f"Not counted here: {others:,} dead letter(s) of other elections, "
        f"{nameless:,} naming no election.\n"
    )


def render_audit(doc: Mapping[str, Any]) -> str:
    return render_differences(doc) + "\n" + render_anomalies(doc)
