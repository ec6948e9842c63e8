"""Published result tables (CSV) as a partial set of views, for `votewire audit`.

A table is a CSV file with a header row; lines starting with "#" are
comments (where the figures come from). Each row describes one view:

- a `race_id` column: that race; else a `region_id` column: that region;
  else (or `scope` = "national"): the nation;
- an optional `election_id` column restricts a row to that election.

Every other column is a figure, named by its path in the views
(`audit_compare.flatten`: `registered`, `ballots_cast`, `turnout_pct`,
`precincts_reporting`, `against_all.votes`, `seats_by_party.<party>.seats`,
...), or by one of the names the published kz-2021 tables use:
`registered_voters` (registered), `turnout_pct_published` (turnout_pct),
`akims_elected` / `seats` (seats_total), `akims_<party>` / `seats_<party>`
(seats won by the party), `votes_<party>` (the party's votes). Names
(`region_name`, `name`, ...) are not compared. Integers are read as
integers; anything else (e.g. "90.88") as the string it is, since views
publish percentages as strings with two decimals. Empty cells state nothing.
Several tables are merged (a later one's figures win).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from votewire.replay.audit_compare import ViewSet

ALIASES = {
    "registered_voters": "registered",
    "turnout_pct_published": "turnout_pct",
    "akims_elected": "seats_total",
    "seats": "seats_total",
}
NOT_FIGURES = {
    "scope",
    "election_id",
    "region_id",
    "race_id",
    "name",
    "region_name",
    "race_name",
}
_INT = re.compile(r"^-?\d+$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+$")


class BadTable(ValueError):
    """A table that cannot be read (the message names the file and line)."""


def figure_path(column: str) -> str | None:
    """The view path a column states, or None for a column that is not a figure."""
    column = column.strip()
    if column in NOT_FIGURES or column.endswith("_name"):
        return None
    if column in ALIASES:
        return ALIASES[column]
    for prefix in ("akims_", "seats_"):
        if column.startswith(prefix):
            return f"seats_by_party.{column[len(prefix) :]}.seats"
    if column.startswith("votes_"):
        return f"votes_by_party.{column[len('votes_') :]}.votes"
    return column


def _value(cell: str) -> int | str:
    text = cell.strip()
    if _THOUSANDS.match(text):  # "1,209,817"; "90,88" stays a string
        text = text.replace(",", "")
    return int(text) if _INT.match(text) else text


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadTable(f"{path}: {exc.strerror or exc}") from None
    numbered = [
        (n, line) for n, line in enumerate(text.splitlines(), 1) if not line.startswith("#")
    ]
    if not numbered:
        raise BadTable(f"{path}: empty table")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in numbered)))
    for index, row in enumerate(reader, start=1):
        if None in row:
            raise BadTable(f"{path}:{numbered[index][0]}: more cells than columns")
        yield numbered[index][0], {k: v for k, v in row.items() if k is not None}


def read_tables(paths: Iterable[Path], election_id: str, label: str) -> ViewSet:
    """The figures of the tables for `election_id` as a partial `ViewSet`."""
    found = ViewSet(label=label, election_id=election_id, partial=True)
    for path in paths:
        for _, row in _rows(path):
            if row.get("election_id") and row["election_id"].strip() != election_id:
                continue
            figures: dict[str, Any] = {}
            for column, cell in row.items():
                target = figure_path(column)
                if target is not None and cell is not None and cell.strip():
                    figures[target] = _value(cell)
            if row.get("race_id"):
                found.races.setdefault(row["race_id"].strip(), {}).update(figures)
            elif row.get("region_id"):
                found.regions.setdefault(row["region_id"].strip(), {}).update(figures)
            else:
                found.national = {**(found.national or {}), **figures}
    return found
