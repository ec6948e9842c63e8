"""The region results CSV: rows, encoding, dialects."""

from __future__ import annotations

import csv
import io
from typing import Any

from votewire.live.csv_export import COLUMNS, region_results_csv


def race(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "election_id": "kz",
        "test": False,
        "region_id": "akmola",
        "race_id": "akmola-001",
        "name": "Ақкөл ауылдық округі",
        "status": "complete",
        "outcome": {"type": "winner", "candidate_ids": ["c1"], "candidate_id": "c1"},
        "precincts_reporting": 2,
        "precincts_total": 2,
        "registered": 2000,
        "ballots_cast": 1000,
        "turnout_pct": "50.00",
        "candidates": [
            {
                "candidate_id": "c1",
                "name": "Айдос Серікбаев",
                "party": "Nur Otan",
                "votes": 700,
                "pct": "70.00",
            },
            {
                "candidate_id": "c2",
                "name": "Марат Жақсылықов",
                "party": "—",
                "votes": 200,
                "pct": "20.00",
            },
        ],
        "against_all": {"votes": 60, "pct": "6.00"},
        "invalid": {"votes": 40, "pct": "4.00"},
    }
    return {**base, **over}


def _rows(body: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


def test_one_row_per_candidate_then_against_all_and_invalid() -> None:
    """Each race gives its candidates, against-all and invalid rows, race figures repeated."""
    rows = _rows(
        region_results_csv([race(), race(race_id="akmola-002", against_all=None)], "Ақмола")
    )
    assert [(r["race_id"], r["line"]) for r in rows] == [
        ("akmola-001", "candidate"),
        ("akmola-001", "candidate"),
        ("akmola-001", "against_all"),
        ("akmola-001", "invalid"),
        ("akmola-002", "candidate"),
        ("akmola-002", "candidate"),
        ("akmola-002", "invalid"),
    ]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["candidate_name"] == "Айдос Серікбаев" and rows[0]["elected"] == "yes"
    assert rows[1]["elected"] == "" and rows[0]["region_name"] == "Ақмола"
    assert {r["ballots_cast"] for r in rows} == {"1000"}


def test_the_semicolon_dialect_uses_decimal_commas() -> None:
    """For Excel in comma-decimal locales: ';' separates fields, ',' marks decimals."""
    rows = _rows(region_results_csv([race()], "Ақмола", semicolon=True), delimiter=";")
    assert (rows[0]["pct"], rows[0]["turnout_pct"]) == ("70,00", "50,00")
