"""`votewire tally`: validate and fold a JSON-lines file of reports offline.

    votewire tally --definition DEF.json REPORTS.jsonl [--region ID | --race ID]
                   [--json] [--progress]

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
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from services.core.codec import DefinitionError, decode_definition
from services.core.models import ElectionDefinition
from services.core.tally import ElectionTally
from services.core.validation import Problem, Rejected, validate_report
from services.replay.progress import Progress
from services.replay.tally_render import render_flags, render_rejections, render_view


def add_parser(subparsers: Any) -> None:
    """Register the `tally` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "tally",
        help="validate and fold a JSON-lines file of reports",
        description="Validate and fold a JSON-lines file of reports; print the views.",
    )
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", metavar="REPORTS.jsonl", help='one report per line ("-": stdin)')
    parser.add_argument("--definition", required=True, metavar="DEF.json")
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
            payload = json.loads(line)
        except ValueError as exc:
            problem = Problem("malformed_json", None, f"not valid JSON: {str(exc)[:120]}")
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


def run(args: argparse.Namespace) -> int:
    """Run `votewire tally` with parsed arguments; returns the exit status."""
    try:
        definition = _load_definition(args.definition)
    except (OSError, ValueError) as exc:  # DefinitionError is a ValueError
        kind = "bad definition" if isinstance(exc, DefinitionError) else "cannot read definition"
        print(f"votewire tally: {kind}: {exc}", file=sys.stderr)
        return 2
    if args.region and definition.region(args.region) is None:
        print(f"votewire tally: unknown region {args.region!r}", file=sys.stderr)
        return 2
    if args.race and definition.race(args.race) is None:
        print(f"votewire tally: unknown race {args.race!r}", file=sys.stderr)
        return 2
    show = bool(args.progress) or sys.stderr.isatty()
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
        print(f"votewire tally: cannot read reports: {exc}", file=sys.stderr)
        return 2
    counters = {**tally.counters, "rejected": len(rejected)}
    if args.json:
        document = {
            **tally.views(),
            "rejected": rejected,
            "counters": counters,
            "flags": [f.to_dict() for f in tally.flags],
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
    """Standalone entry point: `python -m services.replay.tally_command ...`."""
    parser = argparse.ArgumentParser(prog="votewire tally")
    configure(parser)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
