"""`votewire election validate FILE`: every problem of a definition file, with its path.

    votewire election validate definition.json [--json]

Reads FILE (UTF-8 JSON) and checks it exactly as ingest's `PUT
/v1/elections/{id}` does (`core.definition_decoder.definition_problems`).
Prints one line per problem, `PATH: message` (`$.races[3].seats: ...`), on
stdout, then how many; or, when there is none, one line naming the
election and its size. `--json`: `{"file", "valid", "election_id",
"problems": [{"path", "message"}], "problem_count"}`. At most
`MAX_LISTED_PROBLEMS` are listed; all are counted.

Exit status: 0 valid; 1 any problem (not JSON at all counts as one, at `$`);
2 FILE cannot be read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from votewire.command import Failed
from votewire.command import command as votewire_command
from votewire.core.codec import loads
from votewire.core.definition_decoder import DefinitionProblem, definition_problems
from votewire.core.models import ElectionDefinition

EXIT_VALID, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Checked:
    """A definition file, checked: the definition, or its problems."""

    definition: ElectionDefinition | None
    problems: list[DefinitionProblem] = field(default_factory=list)
    count: int = 0


def check_text(raw: bytes) -> Checked:
    """Check the bytes of a definition file (pure; never raises)."""
    try:
        value = loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
        reason = str(exc)[:200] or type(exc).__name__
        return Checked(None, [DefinitionProblem("$", f"not valid JSON: {reason}")], 1)
    definition, error = definition_problems(value)
    if error is not None:
        return Checked(None, error.problems, error.count)
    return Checked(definition)


def check_file(path: Path) -> Checked:
    """Check the file at `path`; raises `OSError` if it cannot be read."""
    return check_text(path.read_bytes())


def size_line(definition: ElectionDefinition) -> str:
    precincts = sum(len(r.precincts) for r in definition.races)
    return (
        f"{definition.election_id} ({definition.date}): {len(definition.regions)} regions, "
        f"{len(definition.races)} races, {precincts} precincts"
    )


def print_problems(checked: Checked, stream: Any = None) -> None:
    out = stream or sys.stdout
    for problem in checked.problems:
        print(str(problem), file=out)
    more = checked.count - len(checked.problems)
    if more > 0:
        print(f"... and {more} more", file=out)
    print(f"{checked.count} problem{'s' if checked.count != 1 else ''}", file=out)


@votewire_command(
    "validate", help="Check a definition file as ingest would; list every problem with its path."
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def command(file: Path, as_json: bool) -> int:
    try:
        checked = check_file(file)
    except OSError as exc:
        raise Failed(f"cannot read {file}: {exc}", EXIT_UNREADABLE) from None
    if as_json:
        document = {
            "file": str(file),
            "valid": checked.definition is not None,
            "election_id": checked.definition.election_id if checked.definition else None,
            "problems": [p.to_dict() for p in checked.problems],
            "problem_count": checked.count,
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    elif checked.definition is not None:
        print(f"{file}: valid: {size_line(checked.definition)}")
    else:
        print_problems(checked)
    return EXIT_VALID if checked.definition is not None else EXIT_PROBLEMS
