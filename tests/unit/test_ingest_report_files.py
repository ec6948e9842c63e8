"""Reading importer files: JSON lines and the documented CSV columns (pure)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from votewire.core.codec import decode_definition
from votewire.core.validation import Accepted, Rejected, validate_report
from votewire.ingest.report_files import (
    CSV_COLUMNS,
    ReportFileError,
    csv_records,
    csv_row_to_report,
    file_format,
    jsonl_records,
    read_report_file,
)

from tests.support.definitions import result_report, tiny_definition

TINY = decode_definition(tiny_definition())
HEADER = ",".join(CSV_COLUMNS)


def test_jsonl_keeps_every_non_blank_line_as_written_with_its_number() -> None:
    """Lines are passed on verbatim (even broken ones); blank lines are skipped."""
    records = jsonl_records(['{"a":1}', "", "  broken  ", '{"b":2}'])
    assert [(r.line, r.text) for r in records] == [(1, '{"a":1}'), (3, "broken"), (4, '{"b":2}')]


def test_a_csv_result_row_becomes_the_report_it_spells() -> None:
    """Documented columns map to fields; counts become integers; votes pairs a dict."""
    rows = [
        HEADER,
        "result,rep-1,tiny-2026,r1,p1,,1000,760,c1=400;c2=300,50,10,1,2026-07-25T21:05:00+06:00",
    ]
    [record] = csv_records(io.StringIO("\n".join(rows)))
    report = json.loads(record.text)
    expected = result_report("rep-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10)
    assert report == expected and record.line == 2
    assert isinstance(validate_report(report, TINY), Accepted)


def test_a_csv_turnout_row_leaves_result_columns_out() -> None:
    """Empty cells are absent fields, so a turnout row validates as a turnout report."""
    row = "turnout,t-1,tiny-2026,r1,p1,10:00,,120,,,,1,2026-07-25T10:01:00+06:00"
    [record] = csv_records(io.StringIO(f"{HEADER}\n{row}\n"))
    report = json.loads(record.text)
    assert report == {
        "kind": "turnout",
        "report_id": "t-1",
        "election_id": "tiny-2026",
        "race_id": "r1",
        "precinct_id": "p1",
        "mark": "10:00",
        "ballots_cast": 120,
        "revision": 1,
        "reported_at": "2026-07-25T10:01:00+06:00",
    }
    assert isinstance(validate_report(report, TINY), Accepted)


def test_per_candidate_vote_columns_are_an_alternative_to_pairs() -> None:
    """votes.<candidate_id> columns fill the votes object."""
    report = csv_row_to_report({"kind": "result", "votes.c1": "400", "votes.c2": " 300 "})
    assert report == {"kind": "result", "votes": {"c1": 400, "c2": 300}}


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"ballots_cast": "12.0"}, "wrong_type"),
        ({"ballots_cast": "many"}, "wrong_type"),
        ({"votes": "c1:400"}, "wrong_type"),
        ({"votes": "c1=lots"}, "wrong_type"),
        ({"surprise": "x"}, "unknown_field"),
        ({"extra_cells": ["x"]}, "unknown_field"),
        ({"revision": ""}, "missing_field"),
    ],
)
def test_bad_cells_reach_validation_as_what_they_are(row: dict[str, object], code: str) -> None:
    """Non-integers stay text and unknown columns stay fields, so validation names them."""
    base = {**result_report("rep-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10)}
    cells = {k: (f"c1={v['c1']};c2={v['c2']}" if k == "votes" else str(v)) for k, v in base.items()}
    cells.update(row)  # type: ignore[arg-type]
    verdict = validate_report(csv_row_to_report(cells), TINY)
    assert isinstance(verdict, Rejected)
    assert code in {p.code for p in verdict.problems}


def test_format_comes_from_the_name_unless_given(tmp_path: Path) -> None:
    """*.csv is CSV, anything else JSON lines; --format overrides."""
    assert file_format(Path("a.CSV")) == "csv"
    assert file_format(Path("a.ndjson")) == "jsonl"
    assert file_format(Path("a.txt"), "csv") == "csv"


def test_files_must_be_utf8_and_csv_needs_a_header(tmp_path: Path) -> None:
    """Whole-file problems are refused up front with the line they were found on."""
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"a":1}\n{"b":"\xff"}\n')
    with pytest.raises(ReportFileError, match="line 2"):
        read_report_file(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ReportFileError, match="header"):
        read_report_file(empty)


def test_jsonl_files_split_on_newlines_only(tmp_path: Path) -> None:
    """A U+2028 inside a JSON string does not split the line; a BOM is ignored."""
    path = tmp_path / "r.jsonl"
    path.write_text('\ufeff{"name": "a\u2028b"}\r\n{"n": 2}\n', encoding="utf-8")
    records = read_report_file(path)
    assert [json.loads(r.text) for r in records] == [{"name": "a\u2028b"}, {"n": 2}]
