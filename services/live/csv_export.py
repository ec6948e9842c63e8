"""Race results of a region as CSV, the way a graphics desk drops them into a sheet.

One row per race x line: every candidate, then against-all (races that have
the line) and invalid ballots. Race figures repeat on every row so that a
filter or pivot on any column works. UTF-8 with a byte-order mark (Excel
otherwise reads Kazakh and Russian names as mojibake), CRLF line ends
(RFC 4180). `semicolon=True` gives the dialect Excel expects in locales
whose decimal mark is a comma (ru-KZ, kk-KZ): ";" between fields and "73,82".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

COLUMNS = (
    "election_id",
    "test",
    "region_id",
    "region_name",
    "race_id",
    "race_name",
    "status",
    "outcome",
    "precincts_reporting",
    "precincts_total",
    "registered",
    "ballots_cast",
    "turnout_pct",
    "line",
    "candidate_id",
    "candidate_name",
    "party",
    "votes",
    "pct",
    "elected",
)


def _rows(race: Mapping[str, Any], region_name: str) -> Iterator[dict[str, Any]]:
    outcome = race.get("outcome") or {}
    winners = set(outcome.get("candidate_ids") or []) if outcome.get("type") == "winner" else set()
    common = {
        "election_id": race["election_id"],
        "test": "yes" if race.get("test") else "no",
        "region_id": race["region_id"],
        "region_name": region_name,
        "race_id": race["race_id"],
        "race_name": race["name"],
        "status": race["status"],
        "outcome": outcome.get("type", ""),
        "precincts_reporting": race["precincts_reporting"],
        "precincts_total": race["precincts_total"],
        "registered": race["registered"],
        "ballots_cast": race["ballots_cast"],
        "turnout_pct": race["turnout_pct"],
    }
    for line in race["candidates"]:
        yield {
            **common,
            "line": "candidate",
            "candidate_id": line["candidate_id"],
            "candidate_name": line["name"],
            "party": line["party"],
            "votes": line["votes"],
            "pct": line["pct"],
            "elected": "yes" if line["candidate_id"] in winners else "",
        }
    if race.get("against_all") is not None:
        share = race["against_all"]
        yield {**common, "line": "against_all", "votes": share["votes"], "pct": share["pct"]}
    share = race["invalid"]
    yield {**common, "line": "invalid", "votes": share["votes"], "pct": share["pct"]}


def region_results_csv(
    races: Sequence[Mapping[str, Any]], region_name: str, *, semicolon: bool = False
) -> bytes:
    """The CSV document (bytes, BOM first) of `races`, in the order given."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=COLUMNS, delimiter=";" if semicolon else ",", restval=""
    )
    writer.writeheader()
    for race in races:
        for row in _rows(race, region_name):
            if semicolon:
                for key in ("turnout_pct", "pct"):
                    row[key] = str(row.get(key, "")).replace(".", ",")
            writer.writerow(row)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def election_results_csv(
    races: Sequence[Mapping[str, Any]],
    region_names: Mapping[str, str],
    share_base: str,
    *,
    semicolon: bool = False,
) -> bytes:
    """`results.csv`: every race of the election, as `region_results_csv`, with the share
    column named for its one base (`pct_of_ballots_cast` or `pct_of_valid`)."""
    share = f"pct_of_{share_base}"
    columns = tuple(share if c == "pct" else c for c in COLUMNS)
    out = io.StringIO()
    delimiter = ";" if semicolon else ","
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, restval="")
    writer.writeheader()
    for race in races:
        for row in _rows(race, region_names.get(str(race.get("region_id")), "")):
            row[share] = row.pop("pct", "")
            if semicolon:
                for key in ("turnout_pct", share):
                    row[key] = str(row.get(key, "")).replace(".", ",")
            writer.writerow(row)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


PRECINCT_HEAD = ("precinct_id", "precinct_name", "region_id", "district_id", "registered",
                 "ballots_cast")  # fmt: skip
PRECINCT_TAIL = ("against_all", "invalid", "revision", "reported_at", "report_id")


def precinct_columns(candidate_ids: Sequence[str]) -> tuple[str, ...]:
    """The columns of `precincts.csv`: one `votes_<candidate_id>` per candidate."""
    return (*PRECINCT_HEAD, *(f"votes_{c}" for c in candidate_ids), *PRECINCT_TAIL)


def precincts_csv(
    candidate_ids: Sequence[str], rows: Sequence[Mapping[str, Any]], *, semicolon: bool = False
) -> bytes:
    """`precincts.csv`: one row per precinct with a result (`core.precinct_rows`), sorted by
    precinct id; integers are plain digits, `reported_at` ISO 8601 with its offset."""
    columns = precinct_columns(candidate_ids)
    out = io.StringIO()
    delimiter = ";" if semicolon else ","
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, restval="")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: str(r["precinct_id"])):
        line = {k: row.get(k) for k in PRECINCT_HEAD[2:] + PRECINCT_TAIL}
        line["precinct_id"] = row["precinct_id"]
        line["precinct_name"] = row.get("name", "")
        line["district_id"] = row.get("district_id") or ""
        line["against_all"] = row.get("against_all", 0)
        for cid in candidate_ids:
            line[f"votes_{cid}"] = row["votes"].get(cid, 0)
        writer.writerow(line)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
