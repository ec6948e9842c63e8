"""`votewire election load | list` against a real ingest and Kafka: credentials, refusals,
and the list read back off the definitions topic."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from votewire.cli import main

from tests.integration.test_ingest_harness import running_ingest, write_credentials
from tests.support.definitions import result_report, tiny_definition
from tests.support.stack import isolated_env

pytestmark = pytest.mark.integration


def run(*argv: str) -> int:
    return main(["election", *argv])


def test_load_then_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token or a non-admin one: exit 3 (not stored); a broken file: exit 1, not sent;
    the admin token: exit 0, and `list` shows the election, complete, with its date."""
    credentials, tokens = write_credentials(tmp_path)
    env = {**isolated_env("election-cli"), "VOTEWIRE_CREDENTIALS_FILE": str(credentials)}
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(tiny_definition("cli-2026")), encoding="utf-8")
    bad.write_text(json.dumps(tiny_definition("cli-bad") | {"date": "soon"}), encoding="utf-8")
    admin, rig = tmp_path / "admin.token", tmp_path / "rig.token"
    admin.write_text(tokens.admin + "\n", encoding="utf-8")
    rig.write_text(tokens.rig, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with running_ingest(env) as server:
        assert run("load", str(good), "--url", server.url) == 3
        assert run("load", str(good), "--url", server.url, "--token-file", str(rig)) == 3
        assert run("load", str(bad), "--url", server.url, "--token-file", str(admin)) == 1
        assert "$.date: expected an ISO date" in capsys.readouterr().out
        assert run("load", str(good), "--url", server.url, "--token-file", str(admin)) == 0
        assert "stored cli-2026" in capsys.readouterr().out
    assert run("list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)["elections"]
    assert [(e["election_id"], e["date"], e["complete"]) for e in listed] == [
        ("cli-2026", "2026-07-25", True)
    ]
    assert run("list") == 0
    assert "cli-2026" in capsys.readouterr().out


def test_retire_needs_an_admin_and_list_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`election retire`: no token or a non-admin one exit 3; an unknown election exit 1;
    the admin retires (twice: the first retirement stays), reports are then refused with
    `election_retired`, `list` shows when; `--undo` makes it active and reportable again."""
    credentials, tokens = write_credentials(tmp_path)
    env = {**isolated_env("election-retire"), "VOTEWIRE_CREDENTIALS_FILE": str(credentials)}
    good = tmp_path / "good.json"
    good.write_text(json.dumps(tiny_definition("ret-2026")), encoding="utf-8")
    admin, rig = tmp_path / "admin.token", tmp_path / "rig.token"
    admin.write_text(tokens.admin, encoding="utf-8")
    rig.write_text(tokens.rig, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    report = result_report("ret-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10,
                           election_id="ret-2026")  # fmt: skip
    with running_ingest(env) as server:
        url = ["--url", server.url]
        assert run("load", str(good), *url, "--token-file", str(admin)) == 0
        assert run("retire", "ret-2026", *url) == 3
        assert run("retire", "ret-2026", *url, "--token-file", str(rig)) == 3
        assert "403 forbidden" in capsys.readouterr().err
        assert run("retire", "nope-2026", *url, "--token-file", str(admin)) == 1
        assert run("retire", "ret-2026", *url, "--token-file", str(admin)) == 0
        first = capsys.readouterr().out
        assert run("retire", "ret-2026", *url, "--token-file", str(admin)) == 0
        assert capsys.readouterr().out == first and "retired at" in first
        posted = httpx.post(f"{server.url}/v1/reports", json=report, headers=tokens.headers("rig"))
        assert posted.status_code == 422
        assert posted.json()["results"][0]["problems"][0]["code"] == "election_retired"
        assert run("list", "--json") == 0
        [listed] = json.loads(capsys.readouterr().out)["elections"]
        assert listed["retired"] is not None and listed["retired"] in first
        assert run("retire", "ret-2026", *url, "--token-file", str(admin), "--undo") == 0
        assert "ret-2026 is active" in capsys.readouterr().out
        posted = httpx.post(f"{server.url}/v1/reports", json=report, headers=tokens.headers("rig"))
        assert posted.status_code == 200, posted.text
    assert run("list", "--json") == 0
    assert json.loads(capsys.readouterr().out)["elections"][0]["retired"] is None
