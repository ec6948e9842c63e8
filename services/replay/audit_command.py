"""`votewire audit`: compare two sets of views and list the night's anomalies.

    votewire audit LEFT RIGHT [--election ID] [--definition DEF.json]
                   [--log auto|kafka|none|archive:DIR] [--as-of TIME] [--from TIME]
                   [--json] [--html FILE] [--progress]

LEFT and RIGHT are sources (`audit_sources`): `redis[:PREFIX]`,
`replay:NAME`, `archive:DIR`, `csv:PATH[,PATH...]`. Every difference is
listed per nation, region and race (`audit_compare`), then the anomalies of
the log (`audit_anomalies`): corrections, stale and duplicate reports,
conflicts, soft flags, rejected reports by reason.

Output: a table on stdout; `--json` one document instead; `--html FILE` also
writes a self-contained HTML report (`audit_html`). Exit status: 0 if the
two sources agree, 1 if they differ, 2 if the audit could not run.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

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
from votewire.config import Settings
from votewire.core.models import ElectionDefinition
from votewire.replay.archive_fold import NoDefinition
from votewire.replay.archive_reader import ArchiveBroken
from votewire.replay.as_of import window_of
from votewire.replay.audit_html import render_html
from votewire.replay.audit_render import render_audit
from votewire.replay.audit_run import run_audit
from votewire.replay.audit_sources import parse_source


@votewire_command(
    "audit",
    help="Compare two sets of views (redis[:PREFIX], replay:NAME, archive:DIR, csv:PATH) "
    "and list the anomalies of the event log.",
    # BadSource, BadTime, BadTable, BadNamespace and ManifestError are ValueErrors, as is
    # whatever else in a source's files cannot be read as what it claims to be.
    cannot_run=(ValueError, NoDefinition),
)
@click.argument("left", metavar="LEFT")
@click.argument("right", metavar="RIGHT")
@click.option("--election", metavar="ID")
@click.option("--definition", type=DEFINITION)
@click.option(
    "--log",
    default="auto",
    show_default=True,
    metavar="auto|kafka|none|archive:DIR",
    help="Where the anomaly list comes from.",
)
@click.option("--from", "start", metavar="TIME")
@click.option("--as-of", "--until", "end", metavar="TIME")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write an HTML report.")  # fmt: skip
@progress_option
def command(
    left: str,
    right: str,
    election: str | None,
    definition: ElectionDefinition | None,
    log: str,
    start: str | None,
    end: str | None,
    as_json: bool,
    html: Path | None,
    show_progress: bool,
) -> int:
    """`votewire audit`: exit 0 if the sources agree, 1 if they differ, 2 if it cannot run."""
    try:
        result = asyncio.run(
            run_audit(
                Settings.from_env(),
                parse_source(left),
                parse_source(right),
                election=election,
                definition=definition,
                log=log,
                window=window_of(start, end),
                progress=progress_line(show_progress, label="audit"),
            )
        )
    except ArchiveBroken as exc:
        raise Failed(f"archive fails verification: {exc}") from None
    doc = result.to_dict()
    if html is not None:
        html.write_text(render_html(result), encoding="utf-8")
    if as_json:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_audit(doc))
    return EXIT_FINDINGS if result.differences else EXIT_OK
