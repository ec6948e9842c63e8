"""`votewire tally`: the offline fold of a JSON-lines file, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import definition_dict, payload, result, turnout
from votewire.cli import main
from votewire.core.codec import encode_report

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
    assert main(["tally", "--definition", defn, reports]) == 0
    out, err = capsys.readouterr()
    assert "Test election (kz-test)  [TEST DATA]" in out
    assert "Precincts reporting: 2 of 4 (50 %)" in out
    assert "Nur Otan         600  48.98" in out  # 600 of 1,225 ballots cast
    assert "applied: 3, duplicate: 0, stale: 0, conflict: 0, rejected: 0" in out
    assert err == ""


def test_race_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--race shows the race's candidates with exact shares and its outcome."""
    defn, reports = write(tmp_path, good_lines())
    assert main(["tally", "--definition", defn, reports, "--race", "N1"]) == 0
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
    assert main(["tally", "--definition", defn, reports, "--region", "N"]) == 1
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
    assert main(["tally", "--definition", defn, reports, "--json"]) == 1
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
    assert main(["tally", "--definition", defn, reports, "--region", "X"]) == 2
    assert "unknown region 'X'" in capsys.readouterr().err
    assert main(["tally", "--definition", defn, str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read reports" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(definition_dict(share_base="x")), encoding="utf-8")
    assert main(["tally", "--definition", str(broken), reports]) == 2
    assert "bad definition: $.share_base" in capsys.readouterr().err


def test_region_and_race_together_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--region and --race exclude each other: exit 2 with click's usage message."""
    defn, reports = write(tmp_path, good_lines())
    assert main(["tally", "--definition", defn, reports, "--region", "N", "--race", "N1"]) == 2
    assert "give --region or --race, not both" in capsys.readouterr().err


def test_progress_on_a_file_is_plain_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--progress with stderr not a terminal: plain lines (no carriage return), the last
    one with every line counted."""
    defn, reports = write(tmp_path, good_lines())
    assert main(["tally", "--definition", defn, reports, "--progress"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines()[-1].startswith("100% 3 reports")


def test_a_line_nested_100000_deep_is_malformed_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hostile line is one rejected line (malformed_json, the depth limit named), not a
    RecursionError traceback; the other lines still fold."""
    defn, reports = write(tmp_path, [*good_lines(), "[" * 100_000 + "]" * 100_000])
    assert main(["tally", "--definition", defn, reports, "--json"]) == 1
    out, err = capsys.readouterr()
    [rejected] = json.loads(out)["rejected"]
    assert rejected["line"] == 4
    assert rejected["problems"][0]["code"] == "malformed_json"
    assert "nested deeper than" in rejected["problems"][0]["message"]
    assert "Traceback" not in err


def test_parties_are_shown_by_their_registry_short_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a party registry the tables name parties by short name, not by party_id, and
    say which base the shares are of."""
    obj = definition_dict(
        parties=[
            {"party_id": "nur_otan", "name": "Nur Otan", "color": "#1f8fd6"},
            {"party_id": "auyl", "name": "Auyl People's Democratic Patriotic Party",
             "short_name": "Auyl"},
            {"party_id": "adal", "name": "Adal"},
            {"party_id": "ak_zhol", "name": "Ak Zhol Democratic Party", "short_name": "Ak Zhol"},
            {"party_id": "independent", "name": "Self-nominated", "short_name": "Independent"},
        ]
    )  # fmt: skip
    ids = {"Nur Otan": "nur_otan", "Auyl": "auyl", "Adal": "adal", "Ak Zhol": "ak_zhol"}
    for race in obj["races"]:
        for c in race["candidates"]:
            c["party"] = ids.get(c["party"], c["party"])
    defn, reports = write(tmp_path, good_lines())
    Path(defn).write_text(json.dumps(obj), encoding="utf-8")
    assert main(["tally", "--definition", defn, reports]) == 0
    out = capsys.readouterr().out
    assert "Shares of ballots cast." in out
    assert "Nur Otan         600  48.98" in out and "nur_otan" not in out
    assert "Independent" in out and "independent" not in out
