"""Plain-text rendering of views, rejections and flags for `votewire tally`.

Pure functions from JSON-ready dicts to text; numbers are shown exactly as the
views carry them (percent strings are never recomputed here).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

MAX_LISTED = 20
BASE_WORDS = {"ballots_cast": "ballots cast", "valid": "valid votes"}


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: Collection[int] | None = None,
) -> str:
    """A fixed-width table; by default the first column left-aligned and the others
    right-aligned, else the columns numbered in `right` right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    aligned = set(range(1, len(headers))) if right is None else set(right)

    def line(row: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in aligned else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])]) + "\n"


def _title(view: Mapping[str, Any]) -> str:
    if "race_id" in view:
        title = f"Race {view['race_id']}: {view['name']} (region {view['region_id']})"
    elif "region_id" in view:
        title = f"Region {view['region_id']}: {view['name']}"
    else:
        title = f"{view['name']} ({view['election_id']})"
    return f"{title}  [TEST DATA]" if view["test"] else title


def _summary(view: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Precincts reporting: {view['precincts_reporting']} of {view['precincts_total']}"
        f" ({view['precincts_reporting_pct']} %)",
        f"Turnout: {view['ballots_cast']:,} of {view['registered_reporting']:,} registered"
        f" in reporting precincts ({view['turnout_pct']} %); registered in all:"
        f" {view['registered']:,}",
    ]
    if "race_id" in view:
        lines.append(f"Status: {view['status']}")
        outcome = view["outcome"]
        if outcome is not None:
            ids = ", ".join(outcome["candidate_ids"]) or "-"
            lines.append(f"Outcome: {outcome['type']} ({ids})")
    else:
        lines.append(
            f"Races complete: {view['races_complete']} of {view['races_total']}"
            f" ({view['races_reporting']} reporting)"
        )
    return lines


def render_view(
    view: Mapping[str, Any],
    counters: Mapping[str, int],
    party_names: Mapping[str, str] | None = None,
) -> str:
    """A race, region or national view as text, with the run's counters; parties by their
    name in `party_names` (party_id -> short name; the id where it has none)."""
    names = party_names or {}
    base = BASE_WORDS.get(view["share_base"], view["share_base"])
    out = [_title(view), *_summary(view), f"Shares of {base}.", ""]
    if "race_id" in view:
        rows = [
            [c["name"], names.get(c["party"], c["party"]), f"{c['votes']:,}", c["pct"]]
            for c in view["candidates"]
        ]
        headers = ["Candidate", "Party", "Votes", "%"]
    else:
        rows = [
            [names.get(p["party"], p["party"]), "", f"{p['votes']:,}", p["pct"]]
            for p in view["votes_by_party"]
        ]
        headers = ["Party", "", "Votes", "%"]
    if view["against_all"] is not None and view.get("against_all_races", 1) > 0:
        rows.append(
            ["Against all", "", f"{view['against_all']['votes']:,}", view["against_all"]["pct"]]
        )
    rows.append(["Invalid", "", f"{view['invalid']['votes']:,}", view["invalid"]["pct"]])
    out.append(table(headers, rows))
    if view.get("seats_by_party"):
        out.append(
            table(
                ["Party", "Seats"],
                [[names.get(s["party"], s["party"]), s["seats"]] for s in view["seats_by_party"]],
            )
        )
    marks = [
        [
            m["mark"],
            f"{m['ballots_cast']:,}",
            f"{m['registered']:,}",
            m["pct"],
            m["precincts_reported"],
        ]
        for m in view["turnout_by_mark"]
    ]
    out.append(table(["Mark", "Ballots", "Registered", "%", "Precincts"], marks))
    out.append(", ".join(f"{k}: {v:,}" for k, v in counters.items()) + "\n")
    return "\n".join(out)


def render_rejections(rejected: Sequence[Mapping[str, Any]]) -> str:
    """One line per problem of each rejected line (the first `MAX_LISTED` lines), or
    one line per log record that could not be folded (archive input)."""
    out = []
    for item in rejected[:MAX_LISTED]:
        if "problems" not in item:  # a log record the fold could not use (archive input)
            where = f"partition {item['partition']} offset {item['offset']}"
            out.append(f"{where}: {item['reason']}: {item['detail']}")
            continue
        rid = item["report_id"] or "?"
        for p in item["problems"]:
            field = f" ({p['field']})" if p["field"] else ""
            out.append(f"line {item['line']}: report {rid}: {p['code']}{field}: {p['message']}")
    if len(rejected) > MAX_LISTED:
        out.append(f"... and {len(rejected) - MAX_LISTED} more rejected lines (see --json)")
    if rejected:
        out.append(f"{len(rejected)} rejected")
    return "".join(f"{line}\n" for line in out)


def render_flags(flags: Sequence[Mapping[str, Any]]) -> str:
    """One line per flag (the first `MAX_LISTED`)."""
    out = []
    for f in flags[:MAX_LISTED]:
        figures = ", ".join(f"{k}={v}" for k, v in f["figures"].items())
        where = f"{f['race_id']}/{f['precinct_id']}" + (f" {f['mark']}" if f["mark"] else "")
        out.append(f"flag {f['code']}: {where} report {f['report_id']}: {figures}")
    if len(flags) > MAX_LISTED:
        out.append(f"... and {len(flags) - MAX_LISTED} more flags (see --json)")
    return "".join(f"{line}\n" for line in out)
