"""`votewire election validate`: every problem with its path, exit 1 when any."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import definition_dict
from votewire.cli import main


def run(*argv: str) -> int:
    return main(["election", *argv])


def test_a_valid_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 and one line naming the election and its size."""
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(definition_dict()), encoding="utf-8")
    assert run("validate", str(path)) == 0
    assert "valid: kz-test" in capsys.readouterr().out


def test_every_problem_is_printed_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three problems in three places: three `PATH: message` lines, a count, exit 1;
    `--json` lists the same paths."""
    obj = definition_dict(share_base="registered")
    obj["races"][0]["candidates"][0]["party"] = ""
    obj["regions"][0]["region_id"] = 7
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    assert run("validate", str(path)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"{len(lines) - 1} problems" and len(lines) >= 4
    paths = [line.split(":", 1)[0] for line in lines[:-1]]
    assert "$.share_base" in paths and "$.regions[0].region_id" in paths
    assert "$.races[0].candidates[0].party" in paths
    assert run("validate", "--json", str(path)) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] is False and [p["path"] for p in document["problems"]] == paths


@pytest.mark.parametrize("text", ["{", "[" * 100_000, "\xff"])
def test_not_json_is_one_problem_at_the_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Broken, absurdly nested or non-UTF-8 files: one problem at `$`, exit 1, no traceback."""
    path = tmp_path / "junk.json"
    path.write_bytes(text.encode("latin-1"))
    assert run("validate", str(path)) == 1
    assert capsys.readouterr().out.startswith("$: not valid JSON")


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is not a definition problem: exit 2, said on stderr."""
    assert run("validate", str(tmp_path / "missing.json")) == 2
    assert "cannot read" in capsys.readouterr().err
