"""`votewire election load FILE`: check a definition, then load it through ingest.

    votewire election load definition.json [--url URL] [--token-file F] [--timeout S]

The file is checked here first (`validate.check_file`): a definition with
problems is not sent; they are printed as by `election validate`. Then
`PUT <url>/v1/elections/<election_id>` with the file's bytes and the bearer
token of `--token-file` (an admin credential; none in open dev mode). The
default URL is `http://VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT`. On success it
prints the revision stored and its size; otherwise ingest's error (code,
message, and each problem it names).

Exit status: 0 stored; 1 the definition was refused (problems found here,
or ingest answered 400, 413 or 422); 2 FILE or the token file cannot be
read; 3 not stored for another reason (ingest unreachable, 401/403: the
token, 503: Kafka, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import httpx
from votewire.command import Failed
from votewire.command import command as votewire_command
from votewire.config import Settings
from votewire.election.validate import check_text, print_problems, size_line

EXIT_STORED, EXIT_PROBLEMS, EXIT_USAGE, EXIT_NOT_STORED = 0, 1, 2, 3
REFUSED = frozenset({400, 413, 422})
"""Answers about the definition itself (as opposed to the token or the service)."""


@votewire_command("load", help="Check a definition file, then load it through the ingest API.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--url", help="Ingest API (default: VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding an admin bearer token.",
)
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, metavar="S",
    help="Seconds to wait for ingest (national definitions are big).",
)  # fmt: skip
def command(file: Path, url: str | None, token_file: Path | None, timeout: float) -> int:
    try:
        raw = file.read_bytes()
        token = token_file.read_text(encoding="utf-8").strip() if token_file else None
    except OSError as exc:
        raise Failed(str(exc), EXIT_USAGE) from None
    checked = check_text(raw)
    if checked.definition is None:
        print_problems(checked)
        print(f"votewire election load: {file} not sent", file=sys.stderr)
        return EXIT_PROBLEMS
    settings = Settings.from_env()
    url = (url or f"http://{settings.host}:{settings.ingest_port}").rstrip("/")
    target = f"{url}/v1/elections/{checked.definition.election_id}"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = httpx.put(target, content=raw, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        print(f"votewire election load: cannot reach {url}: {exc}", file=sys.stderr)
        return EXIT_NOT_STORED
    return _report(answer, size_line(checked.definition))


def _report(answer: httpx.Response, size: str) -> int:
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code == 200:
        print(f"stored {size}: revision {body.get('revision')}, {body.get('bytes')} bytes")
        return EXIT_STORED
    error = body.get("error", {}) if isinstance(body, dict) else {}
    print(
        f"votewire election load: {answer.status_code} {error.get('code', '')}: "
        f"{error.get('message', answer.text[:200])}",
        file=sys.stderr,
    )
    for problem in error.get("problems", []):
        print(f"{problem.get('path')}: {problem.get('message')}", file=sys.stderr)
    return EXIT_PROBLEMS if answer.status_code in REFUSED else EXIT_NOT_STORED
