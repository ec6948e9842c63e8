"""`votewire tally`: the offline fold of a JSON-lines file, in-process."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from builders import definition_dict, payload, result, turnout
from votewire.core.codec import encode_report
from votewire.replay import tally_command
from votewire.replay.progress import Progress

GOOD = [
    result("N1", "P1", {"A": 500, "B": 200, "C": 50}, against_all=30, invalid=20),
    result("N1", "P2", {"A": 100, "B": 300}, against_all=20, invalid=5, registered=520),
    turnout("N1", "P1", "10:00", 150),
]


def write(tmp_path: Path, lines: list[str]) -> tuple[str, str]:
    defn = tmp_path / "def.json"
    defn.write_text(json.dumps(definition_dict()), encoding="utf-8")
    reports = tmp_path / "reports.jsonl"
    reports.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(defn), str(reports)


def good_lines() -> list[str]:
    return [json.dumps(encode_report(r)) for r in GOOD]


def test_clean_file_prints_the_national_table_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All lines valid: national table on stdout, nothing rejected, exit status 0."""
    defn, reports = write(tmp_path, good_lines())
    assert tally_command.main(["--definition", defn, reports]) == 0
    out, err = capsys.readouterr()
    assert "Test election (kz-test)  [TEST DATA]" in out
    assert "Precincts reporting: 2 of 4 (50 %)" in out
    assert "Nur Otan         600  48.98" in out  # 600 of 1,225 ballots cast
    assert "applied: 3, duplicate: 0, stale: 0, conflict: 0, rejected: 0" in out
    assert err == ""


def test_race_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--race shows the race's candidates with exact shares and its outcome."""
    defn, reports = write(tmp_path, good_lines())
    assert tally_command.main(["--definition", defn, reports, "--race", "N1"]) == 0
    out = capsys.readouterr().out
    assert "Race N1: Race N1 (region N)" in out
    assert "Outcome: winner (A)" in out
    assert "48.98" in out and "Against all" in out


def test_rejections_are_listed_with_line_numbers_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed line and an invalid report are listed on stderr; exit status 1."""
    lines = [*good_lines(), "{not json", "", json.dumps(payload(ballots_cast=1, report_id="bad"))]
    defn, reports = write(tmp_path, lines)
    assert tally_command.main(["--definition", defn, reports, "--region", "N"]) == 1
    out, err = capsys.readouterr()
    assert "Region N: North" in out
    assert "line 4: report ?: malformed_json: not valid JSON" in err
    assert "line 6: report bad: sum_mismatch (ballots_cast)" in err
    assert "2 rejected" in err


def test_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one document with views, rejections, counters and flags."""
    dup = json.dumps(encode_report(GOOD[0]))
    lower = json.dumps(encode_report(turnout("N1", "P1", "12:00", 100)))
    defn, reports = write(tmp_path, [*good_lines(), dup, lower, "[1]"])
    assert tally_command.main(["--definition", defn, reports, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"national", "regions", "races", "rejected", "counters", "flags"}
    assert doc["counters"] == {
        "applied": 4, "duplicate": 1, "stale": 0, "conflict": 0, "rejected": 1,
    }  # fmt: skip
    assert doc["rejected"] == [
        {
            "line": 6,
            "report_id": None,
            "problems": [
                {
                    "code": "not_an_object",
                    "field": None,
                    "message": "expected a JSON object, got an array",
                }
            ],
        }
    ]
    assert [f["code"] for f in doc["flags"]] == ["turnout_decreased"]
    assert doc["races"]["N1"]["ballots_cast"] == 1225


def test_unusable_inputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad definition, a missing file or an unknown id: exit status 2 with a message."""
    defn, reports = write(tmp_path, good_lines())
    assert tally_command.main(["--definition", defn, reports, "--region", "X"]) == 2
    assert "unknown region 'X'" in capsys.readouterr().err
    assert tally_command.main(["--definition", defn, str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read reports" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(definition_dict(share_base="x")), encoding="utf-8")
    assert tally_command.main(["--definition", str(broken), reports]) == 2
    assert "bad definition: $.share_base" in capsys.readouterr().err


def test_add_parser_registers_the_subcommand() -> None:
    """add_parser adds `tally` with func=run to an argparse subparsers object."""
    parser = argparse.ArgumentParser(prog="votewire")
    tally_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tally", "--definition", "d.json", "r.jsonl", "--json"])
    assert args.func is tally_command.run
    assert (args.definition, args.reports, args.json, args.race) == (
        "d.json",
        "r.jsonl",
        True,
        None,
    )


def test_progress_redraws_at_most_per_interval() -> None:
    """The progress line is redrawn only when the interval has passed, then finished."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, total_bytes=1000, per_second=4, clock=lambda: now[0])
    progress.update(1, 10)  # too early
    assert stream.getvalue() == ""
    now[0] = 0.3
    progress.update(300, 500)
    now[0] = 0.4
    progress.update(400, 600)  # within 0.25 s of the last draw
    assert stream.getvalue().count("\r") == 1 and "50% 300 reports" in stream.getvalue()
    now[0] = 1.0
    progress.finish(1000, 1000)
    assert stream.getvalue().endswith("\n") and "100% 1,000 reports" in stream.getvalue()


def test_progress_disabled_is_silent() -> None:
    """A disabled progress line writes nothing at all."""
    stream = io.StringIO()
    progress = Progress(stream, enabled=False, clock=lambda: 99.0)
    progress.update(5, 5)
    progress.finish(5, 5)
    assert stream.getvalue() == ""


def test_a_line_nested_100000_deep_is_malformed_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hostile line is one rejected line (malformed_json, the depth limit named), not a
    RecursionError traceback; the other lines still fold."""
    defn, reports = write(tmp_path, [*good_lines(), "[" * 100_000 + "]" * 100_000])
    assert tally_command.main(["--definition", defn, reports, "--json"]) == 1
    out, err = capsys.readouterr()
    [rejected] = json.loads(out)["rejected"]
    assert rejected["line"] == 4
    assert rejected["problems"][0]["code"] == "malformed_json"
    assert "nested deeper than" in rejected["problems"][0]["message"]
    assert "Traceback" not in err
