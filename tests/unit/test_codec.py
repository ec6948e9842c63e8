"""The JSON wire format: definitions, reports, canonical bytes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from builders import definition_dict, race_dict, result, turnout
from hypothesis import given
from hypothesis import strategies as st
from votewire.core.codec import (
    MAX_DEPTH,
    DefinitionError,
    MalformedJson,
    decode_definition,
    decode_report_trusted,
    dumps,
    encode_definition,
    encode_report,
    loads_untrusted,
    report_to_bytes,
)
from votewire.core.models import ElectionDefinition, TurnoutReport


def test_definition_round_trips_exactly(defn: ElectionDefinition) -> None:
    """encode_definition inverts decode_definition, both ways."""
    assert encode_definition(defn) == definition_dict()
    assert decode_definition(encode_definition(defn)) == defn


def test_definition_lookups_after_decode(defn: ElectionDefinition) -> None:
    """A decoded definition answers its indexed lookups."""
    assert defn.race("N1") is not None and defn.race("N1").registered == 1500  # type: ignore[union-attr]
    assert [r.race_id for r in defn.races_in("N")] == ["N1", "N2"]
    assert defn.timezone_of("S") == "Asia/Aqtobe"
    assert defn.timezone_of("N") == "Asia/Almaty"
    assert defn.test is True


def _with_race(**changes: Any) -> dict[str, Any]:
    obj = definition_dict()
    obj["races"][0].update(changes)
    return obj


def _dup_candidates() -> dict[str, Any]:
    return _with_race(
        candidates=[
            {"candidate_id": "A", "name": "a", "party": "p"},
            {"candidate_id": "A", "name": "b", "party": "p"},
        ]
    )


EXTRA_N1 = race_dict("N1", "N", [("Q", "p")], [("P", 1)])
BAD_DEFINITIONS = [
    ([1, 2], "$: expected an object"),
    (definition_dict(extra=1), "unknown field(s) extra"),
    ({k: v for k, v in definition_dict().items() if k != "races"}, "missing field(s) races"),
    (_with_race(region_id="X"), "$.races[0].region_id: unknown region 'X'"),
    (definition_dict(races=[*definition_dict()["races"], EXTRA_N1]),
     "$.races[3]: duplicate race id 'N1'"),
    (_dup_candidates(), "$.races[0].candidates[1]: duplicate candidate id 'A'"),
    (_with_race(precincts=[{"precinct_id": "P", "name": "", "registered": 1}] * 2),
     "duplicate precinct id 'P'"),
    (_with_race(precincts=[{"precinct_id": "P", "name": "", "registered": -1}]), "registered"),
    (_with_race(precincts=[{"precinct_id": "P", "name": "", "registered": True}]), "registered"),
    (_with_race(candidates=[]), "at least one candidate"),
    (_with_race(precincts=[]), "at least one precinct"),
    (_with_race(seats=4), "$.races[0].seats"),
    (_with_race(winner_rule="majority", seats=2), "exactly one seat"),
    (_with_race(winner_rule="ranked"), "winner_rule: expected one of plurality, majority"),
    (_with_race(against_all="yes"), "against_all: expected true or false"),
    (definition_dict(turnout_marks=["10:00", "9:00"]), "$.turnout_marks[1]: expected a 'HH:MM'"),
    (definition_dict(turnout_marks=["12:00", "10:00"]), "strictly ascending"),
    (definition_dict(turnout_marks=["10:00", "10:00"]), "strictly ascending"),
    (definition_dict(share_base="registered"), "$.share_base"),
    (definition_dict(date="25.07.2021"), "$.date: expected an ISO date"),
    (definition_dict(election_id=""), "$.election_id: expected a non-empty string"),
    (definition_dict(test="no"), "$.test: expected true or false"),
    (definition_dict(regions=[{"region_id": "N", "name": "n"}] * 2), "duplicate region id 'N'"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "message"), BAD_DEFINITIONS)
def test_bad_definitions_raise_with_the_path(obj: Any, message: str) -> None:
    """Each kind of broken definition raises DefinitionError naming the JSON path."""
    with pytest.raises(DefinitionError) as info:
        decode_definition(obj)
    assert message in str(info.value)


def test_test_flag_defaults_to_false() -> None:
    """A definition without `test` is a real election."""
    obj = definition_dict()
    del obj["test"]
    assert decode_definition(obj).test is False


@pytest.mark.parametrize(
    "report",
    [turnout("N1", "P1", "10:00", 123), result("N1", "P2", {"A": 5, "B": 7}, against_all=1)],
)
def test_reports_round_trip_through_json(report: Any) -> None:
    """decode_report_trusted(json(encode_report(r))) == r for both kinds."""
    back = decode_report_trusted(json.loads(report_to_bytes(report)))
    assert back == report
    assert back.reported_at.utcoffset() == report.reported_at.utcoffset()


def test_result_encoding_lists_every_candidate() -> None:
    """A result's `votes` on the wire has an entry per candidate (absent ones as 0)."""
    obj = encode_report(result("N1", "P1", {"A": 5}))
    assert obj["votes"] == {"A": 5, "B": 0, "C": 0}
    assert obj["kind"] == "result" and obj["ballots_cast"] == 5


def test_reported_at_is_iso_8601_with_offset() -> None:
    """reported_at travels as ISO 8601 with its UTC offset."""
    at = datetime(2021, 7, 25, 10, 5, tzinfo=timezone(timedelta(hours=5)))
    report = TurnoutReport("t", "e", "N1", "P1", "10:00", 1, 1, at)
    assert encode_report(report)["reported_at"] == "2021-07-25T10:05:00+05:00"


def test_canonical_bytes_are_compact_sorted_utf8() -> None:
    """report_to_bytes: no spaces, keys sorted, non-ASCII kept as UTF-8."""
    report = turnout("N1", "P1", "10:00", 1, report_id="Ақсу-1")
    raw = report_to_bytes(report)
    assert raw.startswith(b'{"ballots_cast":1,"election_id":"kz-test","kind":"turnout"')
    assert b" " not in raw
    assert "Ақсу-1".encode() in raw
    assert dumps({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('e-0.1x9Ақ"\\\n')),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(_JSON)
def test_canonical_bytes_are_the_standard_librarys(value: Any) -> None:
    """dumps writes what json.dumps(sort_keys, compact, ensure_ascii=False) writes, floats
    of every notation and strings full of "e-" and "0.0000" included."""
    expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert dumps(value) == expected.encode()


@pytest.mark.parametrize("value", [1e-05, 0.00001234, [1, "a1e-5", 2.5e-07], {"k": "x0.0000"}])
def test_tiny_floats_keep_the_standard_notation(value: Any) -> None:
    assert dumps(value) == json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[" * 100_000, f"nested deeper than {MAX_DEPTH} arrays/objects"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nested deeper than"),
        (b"\xff{}", "not UTF-8 (byte 0: invalid start byte)"),
        ("", "Expecting value at line 1 column 1"),
        ("1" * 5000, "a number with too many digits"),
    ],
)
def test_untrusted_json_fails_only_with_malformed_json(raw: str | bytes, message: str) -> None:
    """Text from outside raises MalformedJson (a ValueError) with a message for the sender,
    never RecursionError, whatever the nesting."""
    with pytest.raises(MalformedJson) as caught:
        loads_untrusted(raw)
    assert str(caught.value).startswith(message)
    assert "recursion" not in str(caught.value)


def test_untrusted_json_at_the_depth_limit_parses() -> None:
    """MAX_DEPTH levels are read; a definition (5 levels) is far from it."""
    assert loads_untrusted("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads_untrusted('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize(
    ("where", "bad"),
    [("election_id", "kz 2021"), ("region", "N:1"), ("race", "gänse"), ("race", "x" * 129)],
)
def test_ids_that_name_channels_keep_to_the_channel_grammar(where: str, bad: str) -> None:
    """An election, region or race id outside A-Z a-z 0-9 _ . - (1-128) could never be a
    live channel: the definition is refused, naming the id (found by Schemathesis: such a
    definition was stored, then `votewire replay` failed on its channel names)."""
    obj = definition_dict()
    if where == "election_id":
        obj["election_id"] = bad
    elif where == "region":
        obj["regions"][0]["region_id"] = bad
        for race in obj["races"]:
            race["region_id"] = bad if race["region_id"] == "N" else race["region_id"]
    else:
        obj["races"][0]["race_id"] = bad
    with pytest.raises(DefinitionError, match="a channel id"):
        decode_definition(obj)
