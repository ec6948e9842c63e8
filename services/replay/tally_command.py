"""`votewire tally`: fold a JSON-lines file of reports, or an archive, offline.

    votewire tally --definition DEF.json REPORTS.jsonl [--region ID | --race ID]
                   [--json] [--progress]
    votewire tally ARCHIVE_DIR [--election ID] [--as-of TIME | --until TIME]
                   [--from TIME] [--definition DEF.json]
                   [--region ID | --race ID] [--json] [--progress]

Each non-blank line is one report. A line that is not JSON is rejected with
code `malformed_json`; every other line goes through `validate_report`, and
accepted reports are folded by `ElectionTally` in file order (the figures do
not depend on that order). Output:

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

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from votewire.core.codec import DefinitionError, MalformedJson, decode_definition, loads_untrusted
from votewire.core.models import ElectionDefinition
from votewire.core.tally import ElectionTally
from votewire.core.validation import Problem, Rejected, validate_report
from votewire.replay.archive_fold import NoDefinition, fold_archive
from votewire.replay.archive_manifest import ManifestError
from votewire.replay.archive_reader import Archive, ArchiveBroken
from votewire.replay.as_of import BadTime, Window, window_of
from votewire.replay.progress import Progress
from votewire.replay.tally_render import render_flags, render_rejections, render_view


def add_parser(subparsers: Any) -> None:
    """Register the `tally` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "tally",
        help="fold a JSON-lines file of reports, or an archive, offline",
        description="Fold a JSON-lines file of reports (validated) or an archive directory "
        "(as the live pipeline did); print the views.",
    )
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reports",
        metavar="REPORTS.jsonl | ARCHIVE_DIR",
        help='one report per line ("-": stdin), or an archive directory',
    )
    parser.add_argument("--definition", metavar="DEF.json", help="required for a reports file")
    parser.add_argument("--election", metavar="ID", help="archive: the election to fold")
    parser.add_argument("--from", dest="start", metavar="TIME", help="archive: delivered from")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--as-of", dest="end", metavar="TIME", help="archive: the views at TIME")
    end.add_argument("--until", dest="end", metavar="TIME", help="archive: same as --as-of")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--region", metavar="ID", help="show one region instead of the nation")
    scope.add_argument("--race", metavar="ID", help="show one race instead of the nation")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--progress", action="store_true", help="draw progress on stderr")
    parser.set_defaults(func=run)


def _load_definition(path: str) -> ElectionDefinition:
    with open(path, encoding="utf-8") as fh:
        return decode_definition(json.load(fh))


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
            outcome = validate_report(payload, definition)
        if isinstance(outcome, Rejected):
            rejected.append({"line": number, **outcome.to_dict()})
        else:
            tally.apply(outcome.report)
        progress.update(count, done)
    progress.finish(count, done)
    return tally, rejected


def _check_scope(args: argparse.Namespace, definition: ElectionDefinition) -> str | None:
    if args.region and definition.region(args.region) is None:
        return f"unknown region {args.region!r}"
    if args.race and definition.race(args.race) is None:
        return f"unknown race {args.race!r}"
    return None


def _fold_file(
    args: argparse.Namespace, show: bool
) -> tuple[ElectionTally, list[dict[str, Any]], dict[str, Any]] | str:
    """Fold a JSON-lines file: (tally, rejected, extra output) or an error message."""
    if args.definition is None:
        return "--definition is required for a reports file (an archive carries its own)"
    if args.start or args.end:
        return "--from/--as-of need an archive: a reports file has no delivery times"
    try:
        definition = _load_definition(args.definition)
    except (OSError, ValueError) as exc:  # DefinitionError is a ValueError
        kind = "bad definition" if isinstance(exc, DefinitionError) else "cannot read definition"
        return f"{kind}: {exc}"
    problem = _check_scope(args, definition)
    if problem:
        return problem
    try:
        if args.reports == "-":
            progress = Progress(sys.stderr, enabled=show)
            tally, rejected = fold(sys.stdin.buffer, definition, progress)
        else:
            size = os.path.getsize(args.reports)
            progress = Progress(sys.stderr, enabled=show, total_bytes=size)
            with open(args.reports, "rb") as fh:
                tally, rejected = fold(fh, definition, progress)
    except OSError as exc:
        return f"cannot read reports: {exc}"
    return tally, rejected, {}


def _fold_archive(
    args: argparse.Namespace, show: bool
) -> tuple[ElectionTally, list[dict[str, Any]], dict[str, Any]] | str:
    """Fold an archive directory: (tally, rejected, extra output) or an error message."""
    try:
        window: Window = window_of(args.start, args.end)
        archive = Archive(Path(args.reports))
        definitions = None
        if args.definition is not None:
            definition = _load_definition(args.definition)
            definitions = {definition.election_id: definition}
        progress = Progress(sys.stderr, enabled=show, label="tally")
        folded = fold_archive(
            archive,
            window=window,
            election=args.election,
            definitions=definitions,
            progress=progress,
        )
    except (BadTime, ManifestError, NoDefinition, ArchiveBroken) as exc:
        return str(exc)
    except (OSError, ValueError) as exc:
        kind = "bad definition" if isinstance(exc, DefinitionError) else "cannot read"
        return f"{kind}: {exc}"
    tally = next(iter(folded.tallies.values()))
    problem = _check_scope(args, tally.definition)
    if problem:
        return problem
    extra = {
        "archive": {
            "head": archive.manifest.head,
            "window": window.to_dict(),
            "skipped": dict(folded.skipped),
        }
    }
    return tally, folded.skipped_records, extra


def run(args: argparse.Namespace) -> int:
    """Run `votewire tally` with parsed arguments; returns the exit status."""
    show = bool(args.progress) or sys.stderr.isatty()
    is_archive = args.reports != "-" and os.path.isdir(args.reports)
    outcome = _fold_archive(args, show) if is_archive else _fold_file(args, show)
    if isinstance(outcome, str):
        print(f"votewire tally: {outcome}", file=sys.stderr)
        return 2
    tally, rejected, extra = outcome
    counters = {**tally.counters, "rejected": len(rejected)}
    if args.json:
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
        if args.race:
            view: Any = tally.race_view(args.race)
        elif args.region:
            view = tally.region_view(args.region)
        else:
            view = tally.national_view()
        sys.stdout.write(render_view(view, counters))
        sys.stderr.write(render_rejections(rejected))
        sys.stderr.write(render_flags([f.to_dict() for f in tally.flags]))
    return 1 if rejected else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m votewire.replay.tally_command ...`."""
    parser = argparse.ArgumentParser(prog="votewire tally")
    configure(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
