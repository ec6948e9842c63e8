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

import asyncio
import contextlib
import json
from pathlib import Path

import click
from votewire.command import (
    EXIT_CANNOT_RUN,
    EXIT_FINDINGS,
    EXIT_OK,
    Failed,
    group,
    progress_line,
    progress_option,
)
from votewire.config import Settings
from votewire.replay.archive_export import export
from votewire.replay.archive_manifest import ManifestError, read_manifest
from votewire.replay.archive_verify import verify_archive


@group("archive", help="Export the event log to a portable archive, or verify an archive.")
def command() -> None:
    pass


@command.command("export", help="Write the whole log to DIR.", cannot_run=(ManifestError,))
@click.option("--out", required=True, metavar="DIR", type=click.Path(path_type=Path))
@progress_option
def export_command(out: Path, show_progress: bool) -> int:
    progress = progress_line(show_progress, unit="records", label="export")
    try:
        manifest = asyncio.run(export(Settings.from_env(), out, progress))
    except FileExistsError as exc:
        raise Failed(
            f"{exc.filename} exists (an unfinished export?); remove it or choose another --out"
        ) from None
    for entry in manifest.files:
        click.echo(f"{entry.name}: {entry.records:,} records from {entry.topic}")
    click.echo(f"archive head: {manifest.head}")
    return EXIT_OK


@command.command("verify", help="Check an archive's hash chains.")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--head", metavar="HEX", help="The archive head it must have.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@progress_option
def verify_command(directory: Path, head: str | None, as_json: bool, show_progress: bool) -> int:
    total = None
    with contextlib.suppress(ManifestError):  # verify_archive reports it as a break
        total = sum(f.records for f in read_manifest(directory).files)
    progress = progress_line(show_progress, total=total, unit="records", label="verify")
    done = [0]

    def on_record(n: int) -> None:
        done[0] = n
        progress.update(n)

    report = verify_archive(directory, expected_head=head, on_record=on_record)
    progress.finish(done[0])
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif report.ok:
        records = sum(report.records.values())
        click.echo(f"{directory}: intact: {records:,} records, archive head {report.head}")
    else:
        for item in report.breaks:
            click.echo(str(item))
        click.echo(f"{directory}: BROKEN: {len(report.breaks)} problem(s)")
    if report.ok:
        return EXIT_OK
    only_manifest = all(b.file == "manifest.json" and b.what == "missing" for b in report.breaks)
    return EXIT_CANNOT_RUN if only_manifest else EXIT_FINDINGS
