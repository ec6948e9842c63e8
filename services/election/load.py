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

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
from votewire.config import Settings
from votewire.election.validate import check_text, print_problems, size_line

EXIT_STORED, EXIT_PROBLEMS, EXIT_USAGE, EXIT_NOT_STORED = 0, 1, 2, 3
REFUSED = frozenset({400, 413, 422})
"""Answers about the definition itself (as opposed to the token or the service)."""


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser(
        "load",
        help="check a definition file, then PUT it to ingest",
        description="Check a definition file, then load it through the ingest API.",
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--url", help="ingest API (default: VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT)")
    parser.add_argument("--token-file", type=Path, help="file holding an admin bearer token")
    parser.add_argument(
        "--timeout", type=float, default=300.0, metavar="S",
        help="seconds to wait for ingest (default 300: national ones are big)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        raw = args.file.read_bytes()
        token = args.token_file.read_text(encoding="utf-8").strip() if args.token_file else None
    except OSError as exc:
        print(f"votewire election load: {exc}", file=sys.stderr)
        return EXIT_USAGE
    checked = check_text(raw)
    if checked.definition is None:
        print_problems(checked)
        print(f"votewire election load: {args.file} not sent", file=sys.stderr)
        return EXIT_PROBLEMS
    settings = Settings.from_env()
    url = (args.url or f"http://{settings.host}:{settings.ingest_port}").rstrip("/")
    target = f"{url}/v1/elections/{checked.definition.election_id}"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = httpx.put(target, content=raw, headers=headers, timeout=args.timeout)
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
