"""`votewire election retire ID`: retire an election through ingest (or withdraw that).

    votewire election retire ID [--url URL] [--token-file F] [--undo]

`POST <url>/v1/elections/<ID>/retirement` with the bearer token of
`--token-file` (an admin credential; none in open dev mode); `--undo` sends
`DELETE` instead. A retired election keeps its definition and its views
(readable by channel, for audit); it is left out of live's
`GET /v1/elections` (and so of the dashboard's picker), and ingest refuses
new reports for it with `election_retired`. The default URL is
`http://VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT`. Retiring twice is harmless (the
first retirement stays).

Exit status: 0 done; 1 no such election (404); 2 the token file cannot be
read; 3 not done for another reason (ingest unreachable, 401/403: the token,
503: Kafka, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import click
import httpx
from votewire.command import Failed
from votewire.command import command as votewire_command
from votewire.config import Settings

EXIT_DONE, EXIT_UNKNOWN, EXIT_USAGE, EXIT_NOT_DONE = 0, 1, 2, 3


@votewire_command("retire", help="Retire an election (hidden from listings, no new reports).")
@click.argument("election_id", metavar="ID")
@click.option("--url", help="Ingest API (default: VOTEWIRE_HOST:VOTEWIRE_INGEST_PORT).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding an admin bearer token.",
)
@click.option("--undo", is_flag=True, help="Withdraw the retirement instead.")
@click.option("--timeout", type=float, default=30.0, show_default=True, metavar="S")
def command(
    election_id: str, url: str | None, token_file: Path | None, undo: bool, timeout: float
) -> int:
    try:
        token = token_file.read_text(encoding="utf-8").strip() if token_file else None
    except OSError as exc:
        raise Failed(str(exc), EXIT_USAGE) from None
    settings = Settings.from_env()
    url = (url or f"http://{settings.host}:{settings.ingest_port}").rstrip("/")
    target = f"{url}/v1/elections/{quote(election_id, safe='')}/retirement"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.request(
            "DELETE" if undo else "POST", target, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        print(f"votewire election retire: cannot reach {url}: {exc}", file=sys.stderr)
        return EXIT_NOT_DONE
    try:
        body = answer.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if answer.status_code == 200:
        if body.get("status") == "retired":
            print(f"{election_id} retired at {body.get('retired_at')} by {body.get('retired_by')}")
        else:
            print(f"{election_id} is active (not retired)")
        return EXIT_DONE
    error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
    print(
        f"votewire election retire: {answer.status_code} {error.get('code', '')}: "
        f"{error.get('message', answer.text[:200])}",
        file=sys.stderr,
    )
    return EXIT_UNKNOWN if answer.status_code == 404 else EXIT_NOT_DONE
