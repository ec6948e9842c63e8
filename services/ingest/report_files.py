"""Report files for the importer: JSON lines or CSV, each record as JSON text.

Reading never judges a report: every non-blank JSON line is passed on as
written (a line that is not JSON is rejected later, like any bad report),
and every CSV row becomes the JSON object it spells, so a report meets the
same validation whichever way it came in. A file that is not UTF-8, or a
CSV file without a header row, is refused as a whole (`ReportFileError`).

CSV format (first row: column names; one report per row; an empty cell
means the field is absent, so a turnout row leaves the result columns empty):

    kind, report_id, election_id, race_id, precinct_id   text
    mark                                                 text, turnout reports
    registered, against_all, invalid                     integers, result reports
    ballots_cast, revision                               integers
    reported_at                                          ISO 8601 with offset
    votes                                                "c1=400;c2=300" (result reports)
    votes.<candidate_id>                                 integer, instead of `votes`

An integer column holding something that is not an integer (optional sign,
digits) is passed on as text, so validation names it (`wrong_type`); an
unknown column, or cells beyond the header, become unknown fields.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from votewire.ingest.bodies import JSON_WHITESPACE

INTEGER_COLUMNS = frozenset({"registered", "ballots_cast", "against_all", "invalid", "revision"})
CSV_COLUMNS = (
    "kind", "report_id", "election_id", "race_id", "precinct_id", "mark", "registered",
    "ballots_cast", "votes", "against_all", "invalid", "revision", "reported_at",
)  # fmt: skip
_INTEGER = re.compile(r"[+-]?\d{1,18}")
FORMATS = ("jsonl", "csv")


class ReportFileError(ValueError):
    """The file cannot be read as reports at all; the message says where."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One report of a file: where it was, and its JSON text."""

    line: int
    text: str


def file_format(path: Path, override: str | None = None) -> str:
    """ "csv" for *.csv, else "jsonl" (*.jsonl, *.ndjson, *.json, anything), unless given."""
    if override:
        return override
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_report_file(path: Path, fmt: str | None = None) -> list[FileRecord]:
    """Every report of the file, in order. Raises `ReportFileError`, `OSError`."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ReportFileError(f"{path}: not UTF-8 (line {line})") from None
    if file_format(path, fmt) == "csv":
        return csv_records(io.StringIO(text, newline=""))
    # Split on "\n" only: str.splitlines would also cut at U+2028 inside a JSON string.
    return jsonl_records(text.split("\n"))


def jsonl_records(lines: Iterable[str]) -> list[FileRecord]:
    """One record per line that is not blank (JSON whitespace only), text as written."""
    return [
        FileRecord(n, line.strip(JSON_WHITESPACE))
        for n, line in enumerate(lines, 1)
        if line.strip(JSON_WHITESPACE)
    ]


def csv_records(lines: Iterable[str]) -> list[FileRecord]:
    """One record per non-empty row after the header."""
    reader = csv.DictReader(lines, restkey="extra_cells")
    if not reader.fieldnames:
        raise ReportFileError("the CSV file has no header row")
    records = []
    for row in reader:
        report = csv_row_to_report(row)
        if report:
            records.append(FileRecord(reader.line_num, json.dumps(report, ensure_ascii=False)))
    return records


def csv_row_to_report(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object one CSV row spells (see the module docstring)."""
    report: dict[str, Any] = {}
    votes: dict[str, Any] = {}
    for column, cell in row.items():
        if column == "extra_cells":
            if any(c.strip() for c in cell):
                report["extra_cells"] = cell
            continue
        value = cell.strip() if isinstance(cell, str) else ""
        name = (column or "").strip()
        if not value or not name:
            continue
        if name == "votes":
            pairs = _vote_pairs(value)
            if pairs is None:
                report["votes"] = value  # not pairs: validation says wrong_type
            else:
                votes.update(pairs)
        elif name.startswith("votes."):
            votes[name[len("votes.") :]] = _integer(value)
        else:
            report[name] = _integer(value) if name in INTEGER_COLUMNS else value
    if votes and not isinstance(report.get("votes"), str):
        report["votes"] = votes
    return report


def _integer(cell: str) -> int | str:
    return int(cell) if _INTEGER.fullmatch(cell) else cell


def _vote_pairs(cell: str) -> dict[str, int | str] | None:
    pairs: dict[str, int | str] = {}
    for part in cell.split(";"):
        if not part.strip():
            continue
        candidate, sep, count = part.partition("=")
        if not sep or not candidate.strip():
            return None
        pairs[candidate.strip()] = _integer(count.strip())
    return pairs
