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
problem codes) to stderr.

Exit status: 0 every report accepted; 1 some rejected; 2 bad arguments, file
or configuration; 3 the reports could not be delivered (refused request,
or still unavailable after `--retry-for`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from votewire.config import Settings
from votewire.ingest.import_transports import (
    DirectTransport,
    HttpTransport,
    Refused,
    RetryLater,
    Transport,
)
from votewire.ingest.report_files import FORMATS, FileRecord, ReportFileError, read_report_file

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNDELIVERED = 0, 1, 2, 3
SHOWN_REJECTIONS = 20


def add_parser(subparsers: Any) -> None:
    """Register `ingest` on the `votewire` command's subparsers."""
    p = subparsers.add_parser("ingest", help="send a JSON-lines or CSV file of reports")
    p.add_argument("file", type=Path, help="*.jsonl / *.ndjson (one report per line) or *.csv")
    p.add_argument("--format", choices=FORMATS, help="override the format guessed from the name")
    p.add_argument("--direct", action="store_true", help="validate here, produce to Kafka")
    p.add_argument("--url", help="ingest API (default: VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT)")
    p.add_argument("--token", help="bearer token (visible in `ps`; prefer --token-file)")
    p.add_argument("--token-file", type=Path, help="file holding the bearer token")
    p.add_argument("--batch", type=int, default=500, help="reports per request (default 500)")
    p.add_argument("--retry-for", type=float, default=120.0, help="seconds to retry 429/503")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


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


class Progress:
    """`sent/total` on stderr: rewritten in place on a terminal, else every ~10 %."""

    def __init__(self, total: int, stream: TextIO, quiet: bool) -> None:
        self.total, self.stream, self.quiet = total, stream, quiet
        self.tty = stream.isatty()
        self._next_line = 0.0

    def show(self, tally: Tally, final: bool = False) -> None:
        if self.quiet or self.total == 0:
            return
        share = tally.sent / self.total
        text = (
            f"[ingest] {tally.sent}/{self.total} ({share:.0%}) "
            f"accepted {tally.accepted} rejected {len(tally.rejected)}"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        elif final or share >= self._next_line:
            self.stream.write(text + "\n")
            self._next_line = share + 0.1
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    """Entry point of `votewire ingest`; returns the exit status."""
    problem = _check_args(args)
    if problem:
        print(f"votewire ingest: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        records = read_report_file(args.file, args.format)
        token = _token(args)
    except (OSError, ReportFileError) as exc:
        print(f"votewire ingest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = Settings.from_env()
    return asyncio.run(_import(args, settings, records, token))


def _check_args(args: argparse.Namespace) -> str | None:
    if args.direct and (args.url or args.token or args.token_file):
        return "--direct talks to Kafka; --url/--token/--token-file are for the HTTP mode"
    if args.token and args.token_file:
        return "give --token or --token-file, not both"
    if args.batch < 1:
        return "--batch must be at least 1"
    return None


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        return str(args.token_file.read_text(encoding="utf-8").strip())
    return args.token if isinstance(args.token, str) else None


async def _import(
    args: argparse.Namespace, settings: Settings, records: list[FileRecord], token: str | None
) -> int:
    transport: Transport
    if args.direct:
        direct = DirectTransport(settings)
        try:
            await direct.start()
        except Exception as exc:  # Kafka or Redis not there: say so, do not trace back
            await direct.close()
            print(f"votewire ingest: cannot reach Kafka: {exc!r}", file=sys.stderr)
            return EXIT_UNDELIVERED
        transport = direct
    else:
        url = args.url or f"http://{settings.host}:{settings.ingest_port}"
        transport = HttpTransport(url, token)
    tally = Tally()
    progress = Progress(len(records), sys.stderr, args.quiet)
    try:
        for start in range(0, len(records), args.batch):
            batch = records[start : start + args.batch]
            results = await _deliver(transport, batch, args.retry_for)
            tally.add(batch, results)
            progress.show(tally)
    except (Refused, RetryLater) as exc:
        progress.show(tally, final=True)
        print(f"votewire ingest: not delivered: {exc}", file=sys.stderr)
        _summary(args.file, tally, len(records))
        return EXIT_UNDELIVERED
    finally:
        await transport.close()
    progress.show(tally, final=True)
    _summary(args.file, tally, len(records))
    return EXIT_REJECTED if tally.rejected else EXIT_OK


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
    print(
        f"{path}: {tally.sent}/{total} sent, {tally.accepted} accepted "
        f"({tally.duplicates} already there), {len(tally.rejected)} rejected"
    )
    for line, result in tally.rejected[:SHOWN_REJECTIONS]:
        problems = result.get("problems") or []
        codes = ", ".join(f"{p.get('code')}({p.get('field') or '-'})" for p in problems)
        print(f"  line {line}: {result.get('report_id')!r} rejected: {codes}", file=sys.stderr)
    if len(tally.rejected) > SHOWN_REJECTIONS:
        print(f"  ... and {len(tally.rejected) - SHOWN_REJECTIONS} more", file=sys.stderr)
