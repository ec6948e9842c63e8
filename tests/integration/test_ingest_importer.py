"""`votewire ingest FILE` against the real stack: over HTTP and --direct, JSONL and CSV,
summary and exit status, idempotent re-runs, dead letters naming the importer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from votewire.cli import main
from votewire.ingest.report_files import CSV_COLUMNS

from tests.integration.test_ingest_harness import (
    IngestServer,
    Tokens,
    decoded,
    read_to_end,
    running_ingest,
    write_credentials,
)
from tests.support.definitions import tiny_definition
from tests.support.stack import free_port, isolated_env

pytestmark = pytest.mark.integration

PLACES = [("r1", "p1"), ("r1", "p2"), ("r2", "p3")]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestServer, Tokens]]:
    path, tokens = write_credentials(tmp_path_factory.mktemp("importer"))
    env = {
        **isolated_env("ingest-importer"),
        "VOTEWIRE_CREDENTIALS_FILE": str(path),
        "VOTEWIRE_INGEST_RATE": "0",
    }
    with running_ingest(env) as server:
        yield server, tokens


@pytest.fixture
def election(deployment: tuple[IngestServer, Tokens]) -> str:
    server, tokens = deployment
    election_id = f"imp-{uuid.uuid4().hex[:8]}"
    put = httpx.put(
        f"{server.url}/v1/elections/{election_id}",
        json=tiny_definition(election_id),
        headers=tokens.headers("admin"),
        timeout=20,
    )
    assert put.status_code == 200, put.text
    return election_id


def turnouts(election: str, revisions: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "turnout",
            "report_id": f"{race}-{precinct}-{rev}",
            "election_id": election,
            "race_id": race,
            "precinct_id": precinct,
            "mark": "10:00",
            "ballots_cast": 10 * rev,
            "revision": rev,
            "reported_at": "2026-07-25T10:05:00+06:00",
        }
        for rev in range(1, revisions + 1)
        for race, precinct in PLACES
    ]


def importer(*argv: str) -> int:
    return main(["ingest", *argv])


def on_topic(server: IngestServer, election: str, topic: str) -> list[dict[str, Any]]:
    records = decoded(asyncio.run(read_to_end(server.settings.kafka_bootstrap, topic)))
    return [v for _, v in records if election in json.dumps(v)]


def test_http_import_of_jsonl_reports_progress_summary_and_rejects(
    deployment: tuple[IngestServer, Tokens],
    election: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Batches go over HTTP; bad lines are rejected with their line numbers, exit 1;
    a re-run stores nothing twice."""
    server, tokens = deployment
    good = turnouts(election, 10)
    lines = [json.dumps(r) for r in good]
    lines.insert(5, json.dumps(good[0] | {"report_id": "bad-1", "ballots_cast": -5}))
    lines.insert(9, '{"kind": "turnout", ')
    path = tmp_path / "night.jsonl"
    path.write_text("\n".join(lines) + "\n")
    token_file = tmp_path / "token"
    token_file.write_text(tokens.rig + "\n")
    argv = ("--url", server.url, "--token-file", str(token_file), "--batch", "7", str(path))
    assert importer(*argv) == 1
    out, err = capsys.readouterr()
    assert "30 accepted (0 already there), 2 rejected" in out
    assert "line 6: 'bad-1' rejected: negative_count(ballots_cast)" in err
    assert "line 10: None rejected: malformed_json(-)" in err
    assert "\r" not in err  # stderr is not a terminal: plain progress lines
    assert "[ingest] sent: 100% 32 reports, " in err and ", accepted 30, rejected 2, " in err
    assert importer(*argv) == 1
    assert "30 accepted (30 already there), 2 rejected" in capsys.readouterr().out
    ids = [v["report_id"] for v in on_topic(server, election, server.settings.reports_topic)]
    assert sorted(ids) == sorted(r["report_id"] for r in good)


def test_http_import_of_csv_within_scope(
    deployment: tuple[IngestServer, Tokens],
    election: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A CSV file of a region's reports imports cleanly (exit 0); a report outside the
    token's scope is refused as out_of_scope (exit 1)."""
    server, tokens = deployment
    rows = [",".join(CSV_COLUMNS)]
    for r in turnouts(election, 2):
        cells = {**{c: "" for c in CSV_COLUMNS}, **{k: str(v) for k, v in r.items()}}
        rows.append(",".join(cells[c] for c in CSV_COLUMNS))
    north_only = [rows[0]] + [row for row in rows[1:] if ",r1," in row]
    path = tmp_path / "north.csv"
    path.write_text("\n".join(north_only) + "\n")
    argv = ("--url", server.url, "--token", tokens.north, "--quiet")
    assert importer(*argv, str(path)) == 0
    assert "4 accepted (0 already there), 0 rejected" in capsys.readouterr().out
    path.write_text("\n".join(rows) + "\n")
    assert importer(*argv, str(path)) == 1
    out, err = capsys.readouterr()
    assert "4 accepted (4 already there), 2 rejected" in out
    assert err.count("out_of_scope(precinct_id)") == 2


def test_direct_import_uses_the_same_pipeline(
    deployment: tuple[IngestServer, Tokens],
    election: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--direct validates with the core and produces straight to Kafka, shares the seen
    ids with the API (a file already sent over HTTP is all duplicates) and dead-letters
    rejects as "direct-import"."""
    server, tokens = deployment
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    good = turnouts(election, 3)
    path = tmp_path / "night.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in good[:4]) + "\n")
    assert importer("--url", server.url, "--token", tokens.rig, "--quiet", str(path)) == 0
    bad = good[0] | {"report_id": "bad-direct", "mark": "11:11"}
    path.write_text("\n".join(json.dumps(r) for r in [*good, bad]) + "\n")
    assert importer("--direct", "--quiet", str(path)) == 1
    assert "9 accepted (4 already there), 1 rejected" in capsys.readouterr().out
    ids = [v["report_id"] for v in on_topic(server, election, server.settings.reports_topic)]
    assert sorted(ids) == sorted(r["report_id"] for r in good)
    [letter] = on_topic(server, election, server.settings.dead_letter_topic)
    assert (
        letter["reason"] == "unknown_mark" and letter["sender"]["credential_id"] == "direct-import"
    )
    assert letter["sender"]["via"] == "import"


def test_undeliverable_imports_exit_3(
    deployment: tuple[IngestServer, Tokens], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused token or a server that stays away is exit 3 with the reason; bad
    arguments are exit 2."""
    server, _ = deployment
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(turnouts("any", 1)[0]) + "\n")
    assert importer("--url", server.url, "--token", "wrong", str(path)) == 3
    assert "HTTP 401" in capsys.readouterr().err
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert importer("--url", nowhere, "--retry-for", "0", str(path)) == 3
    assert "not delivered" in capsys.readouterr().err
    assert importer("--direct", "--token", "x", str(path)) == 2
    assert importer("--url", server.url, str(tmp_path / "missing.jsonl")) == 2
