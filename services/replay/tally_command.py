"""`votewire tally`: fold a JSON-lines file of reports, or an archive, offline.

    votewire tally --definition DEF.json REPORTS.jsonl [--region ID | --race ID]
                   [--json] [--progress]
    votewire tally ARCHIVE_DIR [--election ID] [--as-of TIME | --until TIME]
                   [--from TIME] [--definition DEF.json]
                   [--region ID | --race ID] [--json] [--progress]

Each non-blank line is one report, or a race call (`"kind": "call"`, the
record ingest publishes; checked by `race_call.validate_call_record`). A line
that is not JSON is rejected with code `malformed_json`; every other line goes
through `validate_report`, and accepted reports are folded by `ElectionTally`
in file order (the figures do not depend on that order). Output:

- default: a table of the national view (or `--region` / `--race`) on
  stdout; rejected lines and flags on stderr;
- `--json`: one document on stdout, `{"national", "regions", "races",
  "rejected": [{"line", "report_id", "problems"}], "counters", "flags"}`.

Exit status: 0 if every line was accepted, 1 if any was rejected, 2 if the
command could not run (unreadable files, bad definition, unknown id).
A progress line is drawn on stderr when it is a TTY or with `--progress`.
`REPORTS.jsonl` may be "-" for stdin.

Given a directory, `tally` reads it as an archive (`votewire archive
export`): no Kafka, no Redis. The definition comes from the archive
(`--election` picks one when it holds several; `--definition` overrides);
the reports are checked against the hash chain as they are read and folded
in archive order by `archive_fold` exactly as the live pipeline folded them
(no re-validation: ingest validated them; a record that cannot be folded is
listed under `rejected` with its partition, offset and reason). `--as-of T`
keeps the records delivered (Kafka timestamp) at or before T: the views as
they stood at T (`votewire.replay.as_of`). The output has the same shape,
plus `"archive": {"head", "window"}` in `--json`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from votewire.command import (
    DEFINITION,
    EXIT_FINDINGS,
    EXIT_OK,
    Failed,
    progress_line,
    progress_option,
)
from votewire.command import command as votewire_command
from votewire.core.codec import MalformedJson, loads_untrusted
from votewire.core.models import ElectionDefinition
from votewire.core.parties import party_lines
from votewire.core.race_call import RaceCall, validate_call_record
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, Problem, Rejected, validate_report
from votewire.progress import Progress
from votewire.replay.archive_fold import NoDefinition, fold_archive
from votewire.replay.archive_manifest import ManifestError
from votewire.replay.archive_reader import Archive, ArchiveBroken
from votewire.replay.as_of import BadTime, Window, window_of
from votewire.replay.tally_render import render_flags, render_rejections, render_view

Folded = tuple[ElectionTally, list[dict[str, Any]], dict[str, Any]]
"""The tally, the rejected lines or records, and what else `--json` prints."""


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes, int]]:
    done = 0
    for number, line in enumerate(stream, start=1):
        done += len(line)
        yield number, line, done


def fold(
    stream: IO[bytes], definition: ElectionDefinition, progress: Progress
) -> tuple[ElectionTally, list[dict[str, Any]]]:
    """Validate and fold every line; return the tally and the rejected lines."""
    tally = ElectionTally(definition)
    rejected: list[dict[str, Any]] = []
    count = done = 0
    for number, line, done in _lines(stream):
        if not line.strip():
            continue
        count += 1
        try:
            payload = loads_untrusted(line)
        except MalformedJson as exc:
            problem = Problem("malformed_json", None, f"not valid JSON: {exc}")
            outcome: Any = Rejected((problem,))
        else:
            outcome = _validate(payload, definition)
        if isinstance(outcome, Rejected):
            rejected.append({"line": number, **outcome.to_dict()})
        elif isinstance(outcome, RaceCall):
            tally.apply(outcome)
        else:
            tally.apply(outcome.report)
        progress.update(count, done)
    progress.finish(count, done)
    return tally, rejected


def _validate(payload: Any, definition: ElectionDefinition) -> Accepted | Rejected | RaceCall:
    """A report's verdict; a call line (`"kind": "call"`) checked as a call record."""
    if not (isinstance(payload, dict) and payload.get("kind") == "call"):
        return validate_report(payload, definition)
    found = validate_call_record(payload, definition)
    if isinstance(found, RaceCall):
        return found
    report_id = payload.get("call_id") if isinstance(payload.get("call_id"), str) else None
    return Rejected(tuple(found), report_id)


def _check_scope(definition: ElectionDefinition, region: str | None, race: str | None) -> None:
    if region and definition.region(region) is None:
        raise Failed(f"unknown region {region!r}")
    if race and definition.race(race) is None:
        raise Failed(f"unknown race {race!r}")


def _fold_file(reports: str, definition: ElectionDefinition | None, show: bool) -> Folded:
    """Fold a JSON-lines file ("-": stdin)."""
    if definition is None:
        raise Failed("--definition is required for a reports file (an archive carries its own)")
    try:
        if reports == "-":
            return (*fold(sys.stdin.buffer, definition, progress_line(show)), {})
        line = progress_line(show, total_bytes=os.path.getsize(reports))
        with open(reports, "rb") as fh:
            return (*fold(fh, definition, line), {})
    except OSError as exc:
        raise Failed(f"cannot read reports: {exc}") from None


def _fold_archive(
    directory: str,
    definition: ElectionDefinition | None,
    election: str | None,
    window: Window,
    show: bool,
) -> Folded:
    """Fold an archive directory as the live pipeline did."""
    archive = Archive(Path(directory))
    folded = fold_archive(
        archive,
        window=window,
        election=election,
        definitions=None if definition is None else {definition.election_id: definition},
        progress=progress_line(show, label="tally"),
    )
    tally = next(iter(folded.tallies.values()))
    extra = {
        "archive": {
            "head": archive.manifest.head,
            "window": window.to_dict(),
            "skipped": dict(folded.skipped),
        }
    }
    return tally, folded.skipped_records, extra


@votewire_command(
    "tally",
    help="Fold a JSON-lines file of reports (validated) or an archive directory "
    "(as the live pipeline did); print the views.",
    cannot_run=(BadTime, ManifestError, NoDefinition, ArchiveBroken),
)
@click.argument("reports", metavar="REPORTS.jsonl|ARCHIVE_DIR")
@click.option("--definition", type=DEFINITION, help="Required for a reports file.")
@click.option("--election", metavar="ID", help="Archive: the election to fold.")
@click.option("--from", "start", metavar="TIME", help="Archive: delivered from TIME.")
@click.option("--as-of", "--until", "end", metavar="TIME", help="Archive: the views at TIME.")
@click.option("--region", metavar="ID", help="Show one region instead of the nation.")
@click.option("--race", metavar="ID", help="Show one race instead of the nation.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@progress_option
def command(
    reports: str,
    definition: ElectionDefinition | None,
    election: str | None,
    start: str | None,
    end: str | None,
    region: str | None,
    race: str | None,
    as_json: bool,
    show_progress: bool,
) -> int:
    """`votewire tally`; see the module doc for the output and the exit status."""
    if region and race:
        raise click.UsageError("give --region or --race, not both")
    if reports != "-" and os.path.isdir(reports):
        window = window_of(start, end)
        tally, rejected, extra = _fold_archive(reports, definition, election, window, show_progress)
    elif start or end:
        raise Failed("--from/--as-of need an archive: a reports file has no delivery times")
    else:
        if definition is not None:
            _check_scope(definition, region, race)
        tally, rejected, extra = _fold_file(reports, definition, show_progress)
    _check_scope(tally.definition, region, race)
    counters = {**tally.counters, "rejected": len(rejected)}
    if as_json:
        document = {
            **tally.views(),
            "rejected": rejected,
            "counters": counters,
            "flags": [f.to_dict() for f in tally.flags],
            **extra,
        }
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        if race:
            view: Any = tally.race_view(race)
        elif region:
            view = tally.region_view(region)
        else:
            view = tally.national_view()
        names = {p["party_id"]: p["short_name"] for p in party_lines(tally.definition)}
        sys.stdout.write(render_view(view, counters, names))
        sys.stderr.write(render_rejections(rejected))
        sys.stderr.write(render_flags([f.to_dict() for f in tally.flags]))
    return EXIT_FINDINGS if rejected else EXIT_OK
