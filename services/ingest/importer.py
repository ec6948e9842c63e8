"""`votewire ingest FILE`: send a file of reports through the ingest path.

    votewire ingest night.jsonl [--url URL] [--token TOKEN | --token-file F]
    votewire ingest night.csv --direct

By default the file goes to the ingest API in batches (NDJSON, POST
/v1/reports), so it meets the same authentication, scope, validation,
idempotency and dead-lettering as any report. `--direct` skips HTTP: it
validates with the core and produces to Kafka in this process through the
service's own intake pipeline (see `import_transports`).

A batch answered 429/503 (or lost to a connection error) is sent again after
the server's Retry-After, until `--retry-for` seconds have passed: safe,
because a report already stored is then a duplicate, accepted once. Progress
goes to stderr; the summary goes to stdout, rejected reports (line, id,
problem codes) to stderr. Progress is one line on stderr (`votewire.progress`:
redrawn on a terminal, plain lines in a log), unless `--quiet`.

Exit status: 0 every report accepted; 1 some rejected; 2 bad arguments, file
or configuration; 3 the reports could not be delivered (refused request,
or still unavailable after `--retry-for`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from votewire.command import EXIT_FINDINGS, EXIT_OK, Failed
from votewire.command import command as votewire_command
from votewire.config import Settings
from votewire.ingest.import_transports import (
    DirectTransport,
    HttpTransport,
    Refused,
    RetryLater,
    Transport,
)
from votewire.ingest.report_files import FORMATS, FileRecord, ReportFileError, read_report_file
from votewire.progress import Progress

EXIT_UNDELIVERED = 3
SHOWN_REJECTIONS = 20


@dataclass
class Tally:
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def add(self, records: list[FileRecord], results: list[dict[str, Any]]) -> None:
        self.sent += len(records)
        for record, result in zip(records, results, strict=True):
            if result.get("status") == "accepted":
                self.accepted += 1
                self.duplicates += bool(result.get("duplicate"))
            else:
                self.rejected.append((record.line, result))


@votewire_command(
    "ingest",
    help="Send a JSON-lines or CSV file of reports through the ingest API (or --direct).",
    cannot_run=(ReportFileError,),
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help="Override the format guessed from the name.",
)
@click.option("--direct", is_flag=True, help="Validate here, produce to Kafka.")
@click.option("--url", help="Ingest API (default: VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT).")
@click.option("--token", help="Bearer token (visible in `ps`; prefer --token-file).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the bearer token.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Reports per request.",
)
@click.option(
    "--retry-for", type=float, default=120.0, show_default=True, help="Seconds to retry 429/503."
)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")  # fmt: skip
def command(
    file: Path,
    file_format: str | None,
    direct: bool,
    url: str | None,
    token: str | None,
    token_file: Path | None,
    batch: int,
    retry_for: float,
    quiet: bool,
) -> int:
    """`votewire ingest`; see the module doc for the exit status."""
    if direct and (url or token or token_file):
        raise click.UsageError(
            "--direct talks to Kafka; --url/--token/--token-file are for the HTTP mode"
        )
    if token and token_file:
        raise click.UsageError("give --token or --token-file, not both")
    records = read_report_file(file, file_format)
    if token_file:
        token = token_file.read_text(encoding="utf-8").strip()
    settings = Settings.from_env()
    transport: Transport = (
        DirectTransport(settings)
        if direct
        else HttpTransport(url or f"http://{settings.host}:{settings.ingest_port}", token)
    )
    progress = Progress(enabled=not quiet, total=len(records), label="[ingest] sent")
    return asyncio.run(_import(transport, file, records, batch, retry_for, progress))


async def _import(
    transport: Transport,
    path: Path,
    records: list[FileRecord],
    batch_size: int,
    retry_for_s: float,
    progress: Progress,
) -> int:
    if isinstance(transport, DirectTransport):
        try:
            await transport.start()
        except Exception as exc:  # Kafka or Redis not there: say so, do not trace back
            await transport.close()
            raise Failed(f"cannot reach Kafka: {exc!r}", EXIT_UNDELIVERED) from None
    tally = Tally()
    try:
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            results = await _deliver(transport, batch, retry_for_s)
            tally.add(batch, results)
            _show(progress, tally)
    except (Refused, RetryLater) as exc:
        _show(progress, tally, final=True)
        _summary(path, tally, len(records))
        raise Failed(f"not delivered: {exc}", EXIT_UNDELIVERED) from None
    finally:
        await transport.close()
    _show(progress, tally, final=True)
    _summary(path, tally, len(records))
    return EXIT_FINDINGS if tally.rejected else EXIT_OK


def _show(progress: Progress, tally: Tally, final: bool = False) -> None:
    figures = {"accepted": tally.accepted, "rejected": len(tally.rejected)}
    if final:
        progress.finish(tally.sent, **figures)
    else:
        progress.update(tally.sent, **figures)


async def _deliver(
    transport: Transport, batch: list[FileRecord], retry_for_s: float
) -> list[dict[str, Any]]:
    """Send one batch, again and again while the server says "later", up to the deadline."""
    deadline = time.monotonic() + retry_for_s
    texts = [r.text for r in batch]
    while True:
        try:
            return await transport.send(texts)
        except RetryLater as exc:
            if time.monotonic() + exc.wait_s > deadline:
                raise
            await asyncio.sleep(exc.wait_s)  # the server asked us to wait this long


def _summary(path: Path, tally: Tally, total: int) -> None:
    click.echo(
        f"{path}: {tally.sent}/{total} sent, {tally.accepted} accepted "
        f"({tally.duplicates} already there), {len(tally.rejected)} rejected"
    )
    for line, result in tally.rejected[:SHOWN_REJECTIONS]:
        problems = result.get("problems") or []
        codes = ", ".join(f"{p.get('code')}({p.get('field') or '-'})" for p in problems)
        click.echo(f"  line {line}: {result.get('report_id')!r} rejected: {codes}", err=True)
    if len(tally.rejected) > SHOWN_REJECTIONS:
        click.echo(f"  ... and {len(tally.rejected) - SHOWN_REJECTIONS} more", err=True)
