"""The audit as one self-contained HTML file: tables, turnout curves, correction timeline.

`render_html(result)` returns a complete document with inline CSS and inline
SVG drawn here (no script, no font, no CDN, nothing fetched), so it can be
mailed, archived next to the evidence and opened offline years later.

- Turnout curves: per region (and the nation), turnout at each mark as
  published in the region views' `turnout_by_mark` (ballots cast by the
  precincts that reported the mark over their registered voters), one line
  per source that has views (the left solid, the right dashed).
- Correction timeline: one row per region, delivery time across; a dot per
  correction, a triangle per stale report, a square per soft flag, and a
  row of ticks for rejected reports; every mark has a tooltip (`<title>`)
  with who, when and what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from votewire.replay.audit_compare import ViewSet
from votewire.replay.audit_render import not_counted
from votewire.replay.audit_run import AuditResult
from votewire.replay.audit_svg import Event, legend, timeline_chart, turnout_chart

LIMIT = 500
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
.curves{display:flex;flex-wrap:wrap;gap:12px}.curves figure{margin:0}
figcaption{font-size:12px;text-align:center}.ok{color:#070}.bad{color:#b00}
.muted{color:#777;font-size:12px}svg text{font:10px sans-serif;fill:#444}
.rehearsal{background:#fff4d6;border:2px solid #c88a00;padding:.6em 1em;font-weight:700}
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v:,}</td>' if isinstance(v, int) and not isinstance(v, bool)
            else f"<td>{escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _series(views: ViewSet, scope: str, ident: str | None) -> list[tuple[str, float]] | None:
    view = views.get(scope, ident)
    if views.partial or view is None or "turnout_by_mark" not in view:
        return None
    return [(m["mark"], float(m["pct"])) for m in view["turnout_by_mark"]]


def _curves(result: AuditResult) -> str:
    sets = [(result.left, False), (result.right, True)]
    targets: list[tuple[str, str | None, str]] = [("national", None, result.definition.name)]
    targets += [("region", r.region_id, r.name) for r in result.definition.regions]
    figures = []
    for scope, ident, name in targets:
        lines = []
        for views, dashed in sets:
            points = _series(views, scope, ident)
            if points:
                lines.append((views.label, dashed, points))
        if lines:
            caption = f"<figcaption>{escape(name)}</figcaption>"
            figures.append(f"<figure>{turnout_chart(name, lines)}{caption}</figure>")
    if not figures:
        return '<p class="muted">No source with turnout series.</p>'
    legend = " ".join(
        f"{'dashed' if dashed else 'solid'}: {escape(views.label)}"
        for views, dashed in sets
        if not views.partial
    )
    return f'<p class="muted">{legend}</p><div class="curves">{"".join(figures)}</div>'


def _events(anomalies: dict[str, Any]) -> list[Event]:
    """(kind, region_id, delivered ms, tooltip) of everything the timeline draws."""
    out: list[Event] = []
    for c in anomalies["corrections"]:
        tip = (
            f"correction {c['commission']} {c['kind']} {c['mark'] or ''} r{c['old_revision']}"
            f"->r{c['revision']} delivered {c['delivered_at']} from {c['credential'] or '?'}"
            f": {'; '.join(c['changes'])}"
        )
        out.append(("correction", c["region_id"], c["delivered_ms"], tip))
    for s in anomalies["stale"]:
        tip = f"stale {s['commission']} {s['report_id']} delivered {s['delivered_at']}"
        out.append(("stale", s["region_id"], s["delivered_ms"], tip))
    for f in anomalies["flags"]:
        tip = f"{f['code']} {f['race_id']}/{f['precinct_id']} delivered {f['delivered_at']}"
        out.append(("flag", f["region_id"], f["delivered_ms"], tip))
    for r in anomalies["rejected"]["items"]:
        tip = f"rejected ({r['reason']}) {r['report_id'] or '?'} from {r['sender'] or '?'}"
        out.append(("rejected", None, r["delivered_ms"], tip))
    return out


def _timeline(result: AuditResult, anomalies: dict[str, Any]) -> str:
    events = _events(anomalies)
    if not events:
        return '<p class="muted">Nothing to draw: no corrections, stale reports or flags.</p>'
    rows: list[tuple[str | None, str]] = [(r.region_id, r.name) for r in result.definition.regions]
    rows.append((None, "rejected (dead letters)"))
    zone = result.definition.timezone
    note = f"delivery time (Kafka timestamp), {escape(zone)}"
    chart = timeline_chart(rows, events[: LIMIT * 8], zone)
    return f'<p class="muted">{legend()} &middot; {note}</p>{chart}'


def _anomaly_tables(anomalies: dict[str, Any]) -> str:
    parts = [_table(["Anomaly", "Count"], [[k, v] for k, v in anomalies["counts"].items()])]
    rows = [
        [c["delivered_at"], c["commission"], f"{c['kind']} {c['mark'] or ''}".strip(),
         f"r{c['old_revision']} -> r{c['revision']}", c["credential"] or "-",
         f"{c['old_delivered_at']} by {c['old_credential'] or '-'}",
         "; ".join(c["changes"]) or "(same figures)"]
        for c in anomalies["corrections"][:LIMIT]
    ]  # fmt: skip
    if rows:
        parts.append("<h3>Corrections</h3>")
        parts.append(
            _table(["Delivered", "Commission", "Report", "Revision", "Sent by",
                    "Replaced (delivered, sent by)", "Changes"], rows)
        )  # fmt: skip
    flags = anomalies["flags"] + anomalies["conflicts"]
    if flags:
        rows = [
            [f["delivered_at"], f["code"], f"{f['race_id']}/{f['precinct_id']}",
             ", ".join(f"{k}={v}" for k, v in f["figures"].items())]
            for f in flags[:LIMIT]
        ]  # fmt: skip
        parts.append("<h3>Flags and conflicts</h3>")
        parts.append(_table(["Delivered", "Flag", "Commission", "Figures"], rows))
    for key, title in (("stale", "Stale reports"), ("duplicates", "Duplicate reports")):
        items = anomalies[key]
        if items:
            rows = [
                [i["delivered_at"], i["commission"], i["report_id"], f"r{i['revision']}"]
                for i in items[:LIMIT]
            ]
            parts.append(f"<h3>{title}</h3>")
            parts.append(_table(["Delivered", "Commission", "Report id", "Revision"], rows))
    by_reason = anomalies["rejected"]["by_reason"]
    if by_reason:
        parts.append("<h3>Rejected reports by reason</h3>")
        parts.append(_table(["Reason", "Reports"], [[k, v] for k, v in by_reason.items()]))
    left_out = not_counted(anomalies["rejected"])
    if left_out:
        parts.append(f'<p class="muted">{escape(left_out)}</p>')
    return "".join(parts)


def render_html(result: AuditResult, generated_at: datetime | None = None) -> str:
    """The whole report (see the module doc)."""
    doc = result.to_dict()
    diffs = doc["differences"]
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    status = (
        '<p class="ok">No differences.</p>' if not diffs
        else f'<p class="bad">{len(diffs):,} difference(s).</p>'
    )  # fmt: skip
    diff_rows = [
        [d["scope"], d["id"] or "-", d["name"] or "", d["field"], str(d["left"]), str(d["right"])]
        for d in diffs[: LIMIT * 4]
    ]
    anomalies = doc["anomalies"]
    sides = [
        ["left", result.left.label, result.left.note],
        ["right", result.right.label, result.right.note],
    ]
    rehearsal = result.definition.test
    body = [
        f"<h1>{'Rehearsal audit' if rehearsal else 'Audit'} of "
        f"{escape(result.definition.name)}</h1>",
        '<p class="rehearsal" data-rehearsal>Rehearsal: a test election (its definition says '
        "test: true). These are not real results.</p>"
        if rehearsal
        else "",
        f'<p class="muted">{escape(result.definition.election_id)} &middot; generated {when}'
        f" &middot; {escape(result.window.describe())}</p>",
        _table(["Side", "Source", "Note"], sides),
        "<h2>Differences</h2>",
        status,
        _table(["Scope", "Id", "Name", "Field", "Left", "Right"], diff_rows) if diffs else "",
        "<h2>Turnout through the day</h2>",
        _curves(result),
    ]
    if anomalies is not None:
        body += [
            "<h2>Correction timeline</h2>",
            f'<p class="muted">from {escape(doc["anomalies_from"])}</p>',
            _timeline(result, anomalies),
            "<h2>Anomalies</h2>",
            _anomaly_tables(anomalies),
        ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>votewire {'rehearsal ' if rehearsal else ''}audit: "
        f"{escape(result.definition.election_id)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
