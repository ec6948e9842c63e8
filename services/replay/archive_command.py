"""`votewire archive export | verify`: the event log as portable evidence.

    votewire archive export --out DIR [--progress]
    votewire archive verify DIR [--head HEX] [--json] [--progress]

`export` writes the definitions, reports and dead-letter topics to DIR
(`archive_export`); it prints the archive head, the one value to keep apart
from the archive (or publish) so that a rewritten archive can be told from
the original. Exit 0, or 2 when it could not run (Kafka unreachable, DIR
already holds an archive or an unfinished export).

`verify` checks the manifest and every hash chain (`archive_verify`) and
prints every break: file, record, line, and what (edited, missing,
reordered, inserted, rewritten, truncated). Exit 0 if intact, 1 if not, 2 if
DIR is not readable at all. Progress (rate, ETA) is drawn on stderr when it
is a TTY or with `--progress`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError
from votewire.config import Settings
from votewire.replay.archive_export import export
from votewire.replay.archive_manifest import ManifestError, read_manifest
from votewire.replay.archive_verify import verify_archive
from votewire.replay.progress import Progress


def add_parser(subparsers: Any) -> None:
    """Register `votewire archive` and its `export` and `verify` subcommands."""
    parser = subparsers.add_parser(
        "archive",
        help="export the event log to a hash-chained archive, or verify one",
        description="Export the event log to a portable archive, or verify an archive.",
    )
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    out = actions.add_parser("export", help="write the whole log to DIR")
    out.add_argument("--out", required=True, metavar="DIR", type=Path)
    out.add_argument("--progress", action="store_true", help="draw progress on stderr")
    out.set_defaults(func=run_export)
    check = actions.add_parser("verify", help="check an archive's hash chains")
    check.add_argument("directory", metavar="DIR", type=Path)
    check.add_argument("--head", metavar="HEX", help="the archive head it must have")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--progress", action="store_true", help="draw progress on stderr")
    check.set_defaults(func=run_verify)


def _show(args: argparse.Namespace) -> bool:
    return bool(args.progress) or sys.stderr.isatty()


def run_export(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    progress = Progress(sys.stderr, enabled=_show(args), unit="records", label="export")
    try:
        manifest = asyncio.run(export(settings, args.out, progress))
    except ManifestError as exc:
        print(f"votewire archive export: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(
            f"votewire archive export: {exc.filename} exists (an unfinished export?); "
            "remove it or choose another --out",
            file=sys.stderr,
        )
        return 2
    except (KafkaError, OSError) as exc:
        print(f"votewire archive export: {exc!r}", file=sys.stderr)
        return 2
    for entry in manifest.files:
        print(f"{entry.name}: {entry.records:,} records from {entry.topic}")
    print(f"archive head: {manifest.head}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    total = None
    with contextlib.suppress(ManifestError):  # verify_archive reports it as a break
        total = sum(f.records for f in read_manifest(directory).files)
    progress = Progress(
        sys.stderr, enabled=_show(args), total=total, unit="records", label="verify"
    )
    done = [0]

    def on_record(n: int) -> None:
        done[0] = n
        progress.update(n)

    report = verify_archive(directory, expected_head=args.head, on_record=on_record)
    progress.finish(done[0])
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif report.ok:
        records = sum(report.records.values())
        print(f"{directory}: intact: {records:,} records, archive head {report.head}")
    else:
        for item in report.breaks:
            print(str(item))
        print(f"{directory}: BROKEN: {len(report.breaks)} problem(s)")
    if report.ok:
        return 0
    only_manifest = all(b.file == "manifest.json" and b.what == "missing" for b in report.breaks)
    return 2 if only_manifest else 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m votewire.replay.archive_command ...`."""
    parser = argparse.ArgumentParser(prog="votewire archive")
    configure(parser)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
