"""Validation of untrusted report payloads: every rejection code, and totality."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import ELECTION, payload, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from votewire.core.models import ElectionDefinition, ResultReport, TurnoutReport
from votewire.core.validation import (
    CODES,
    MAX_COUNT,
    Accepted,
    Rejected,
    validate_report,
    validate_report_bytes,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def codes(outcome: Accepted | Rejected) -> list[tuple[str, str | None]]:
    assert isinstance(outcome, Rejected), outcome
    assert outcome.problems
    return [(p.code, p.field) for p in outcome.problems]


def test_valid_result_is_decoded(defn: ElectionDefinition) -> None:
    """A valid result payload becomes a ResultReport with the same figures."""
    out = validate_report(payload(), defn)
    assert isinstance(out, Accepted)
    r = out.report
    assert isinstance(r, ResultReport)
    assert (r.report_id, r.election_id, r.race_id, r.precinct_id) == ("r-1", ELECTION, "N1", "P1")
    assert (r.registered, r.ballots_cast, r.against_all, r.invalid) == (1000, 800, 30, 20)
    assert dict(r.votes) == {"A": 500, "B": 200, "C": 50}
    assert r.revision == 1 and r.reported_at.utcoffset() is not None


def test_valid_turnout_is_decoded(defn: ElectionDefinition) -> None:
    """A valid turnout payload becomes a TurnoutReport."""
    out = validate_report(payload("turnout"), defn)
    assert isinstance(out, Accepted)
    assert out.report == TurnoutReport(
        "t-1", ELECTION, "N1", "P1", "12:00", 400, 1, out.report.reported_at
    )


def test_missing_candidates_count_as_zero(defn: ElectionDefinition) -> None:
    """Candidates absent from `votes` are accepted with 0 votes."""
    out = validate_report(payload(votes={"A": 750}), defn)
    assert isinstance(out, Accepted)
    assert dict(out.report.votes) == {"A": 750, "B": 0, "C": 0}  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [[1], "x", None, 3, 2.5, True])
def test_non_objects_are_rejected(defn: ElectionDefinition, value: Any) -> None:
    """Anything but a JSON object is `not_an_object`."""
    assert codes(validate_report(value, defn)) == [("not_an_object", None)]


def test_unknown_and_missing_kind(defn: ElectionDefinition) -> None:
    """`kind` must be present and be "turnout" or "result"."""
    final = {**payload(), "kind": "final"}
    assert codes(validate_report(final, defn)) == [("unknown_kind", "kind")]
    listed = {**payload(), "kind": ["result"]}
    assert codes(validate_report(listed, defn)) == [("unknown_kind", "kind")]
    no_kind = {k: v for k, v in payload().items() if k != "kind"}
    assert codes(validate_report(no_kind, defn)) == [("missing_field", "kind")]


def test_missing_and_extra_fields(defn: ElectionDefinition) -> None:
    """Absent required fields and unknown fields are each reported."""
    obj = {k: v for k, v in payload("turnout").items() if k != "mark"}
    obj["comment"] = "late"
    assert codes(validate_report(obj, defn)) == [
        ("missing_field", "mark"),
        ("unknown_field", "comment"),
    ]
    # a result field on a turnout report is unknown there
    obj = payload("turnout", invalid=0)
    assert codes(validate_report(obj, defn)) == [("unknown_field", "invalid")]


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in payload().items() if k != name}


REJECTIONS: list[tuple[dict[str, Any], str, str | None]] = [
    (payload(ballots_cast=True), "wrong_type", "ballots_cast"),
    (payload(ballots_cast=800.0), "wrong_type", "ballots_cast"),
    (payload(ballots_cast="800"), "wrong_type", "ballots_cast"),
    (payload(votes=[500, 200, 50]), "wrong_type", "votes"),
    (payload(votes={"A": 500.0, "B": 200, "C": 50}), "wrong_type", "votes.A"),
    (payload(votes={"A": False, "B": 750, "C": 50}), "wrong_type", "votes.A"),
    (payload(race_id=7), "wrong_type", "race_id"),
    (payload(report_id=None), "wrong_type", "report_id"),
    (payload(invalid=-20, against_all=70), "negative_count", "invalid"),
    (payload(votes={"A": MAX_COUNT + 1, "B": 200, "C": 50}), "absurd_count", "votes.A"),
    (payload(registered=10**30), "absurd_count", "registered"),
    (payload(election_id="kz-2019"), "unknown_election", "election_id"),
    (payload(race_id="Z9"), "unknown_race", "race_id"),
    (payload(precinct_id="P9"), "unknown_precinct", "precinct_id"),
    (payload(votes={"A": 500, "B": 200, "Z": 50}), "unknown_candidate", "votes.Z"),
    (payload("turnout", mark="11:00"), "unknown_mark", "mark"),
    (payload(revision=0), "bad_revision", "revision"),
    (payload(revision=-3), "bad_revision", "revision"),
    (payload(revision=1_000_001), "bad_revision", "revision"),
    (payload(revision="2"), "wrong_type", "revision"),
    (payload(revision=2.0), "wrong_type", "revision"),
    (payload(reported_at="2021-07-25T20:45:00"), "bad_timestamp", "reported_at"),
    (payload(reported_at="yesterday evening"), "bad_timestamp", "reported_at"),
    (payload(reported_at="2021-07-25"), "bad_timestamp", "reported_at"),
    (payload(reported_at=1627224300), "wrong_type", "reported_at"),
    (payload(report_id=""), "bad_report_id", "report_id"),
    (payload(report_id="x" * 129), "bad_report_id", "report_id"),
    (payload(report_id="r\n1"), "bad_report_id", "report_id"),
    (payload(ballots_cast=801), "sum_mismatch", "ballots_cast"),
    (payload(registered=1101), "registered_mismatch", "registered"),  # > +100 (10 %)
    (payload(registered=899), "registered_mismatch", "registered"),  # > -100
    (payload(precinct_id="P2", registered=551, ballots_cast=400,
             votes={"A": 300, "B": 50, "C": 0}), "registered_mismatch", "registered"),  # > +50
    (payload(registered=950, ballots_cast=951, votes={"A": 651, "B": 200, "C": 50}),
     "ballots_exceed_registered", "ballots_cast"),
    (payload("turnout", ballots_cast=1101), "ballots_exceed_registered", "ballots_cast"),
    (payload(race_id="N2", precinct_id="P1", registered=200, ballots_cast=100,
             votes={"D": 60, "E": 35}, against_all=5, invalid=0),
     "against_all_not_allowed", "against_all"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "code", "field"), REJECTIONS)
def test_each_rule_rejects_with_its_code(
    defn: ElectionDefinition, obj: dict[str, Any], code: str, field: str | None
) -> None:
    """Each broken payload is rejected with exactly the expected code and field."""
    assert codes(validate_report(obj, defn)) == [(code, field)]


ACCEPTED_EDGES: list[dict[str, Any]] = [
    payload(registered=1100),  # exactly +10 %: tolerated
    payload(registered=900),
    payload(precinct_id="P2", registered=550, ballots_cast=400, votes={"A": 300, "B": 50}),
    payload(registered=900, ballots_cast=900, votes={"A": 600, "B": 200, "C": 50}),  # all voted
    payload("turnout", ballots_cast=1100),
    payload(report_id="x" * 128),
    payload(reported_at="2021-07-25T14:45:00Z"),
    payload(reported_at="2021-07-25T20:45:00.123456+06:00"),
    payload(revision=1_000_000),
    payload(race_id="N2", registered=200, ballots_cast=100, votes={"D": 60, "E": 40},
            against_all=0, invalid=0),
]  # fmt: skip


@pytest.mark.parametrize("obj", ACCEPTED_EDGES)
def test_edges_of_the_rules_are_accepted(defn: ElectionDefinition, obj: dict[str, Any]) -> None:
    """Values exactly at a limit are accepted."""
    assert isinstance(validate_report(obj, defn), Accepted)


def test_several_problems_are_all_reported(defn: ElectionDefinition) -> None:
    """Independent problems are listed together, and the report_id is kept."""
    out = validate_report(payload(revision=0, mark="x", race_id="Z9", invalid=-1), defn)
    assert isinstance(out, Rejected)
    assert out.report_id == "r-1"
    assert {p.code for p in out.problems} == {
        "unknown_field", "bad_revision", "unknown_race", "negative_count",
    }  # fmt: skip
    assert out.to_dict()["problems"][0].keys() == {"code", "field", "message"}


def test_problem_list_is_capped(defn: ElectionDefinition) -> None:
    """A payload with thousands of extra fields yields a bounded list of problems."""
    obj = payload(**{f"x{i}": i for i in range(5000)})
    out = validate_report(obj, defn)
    assert isinstance(out, Rejected)
    assert 0 < len(out.problems) <= 50


def test_messages_truncate_hostile_values(defn: ElectionDefinition) -> None:
    """Huge strings and integers are not echoed whole in messages."""
    out = validate_report(payload(race_id="Z" * 100_000, registered=10**5000), defn)
    assert isinstance(out, Rejected)
    assert all(len(p.message) < 200 for p in out.problems)


class HostileDict(dict[str, Any]):
    def keys(self) -> Any:
        raise RuntimeError("boom")


def test_hostile_objects_never_raise(defn: ElectionDefinition) -> None:
    """Even a dict subclass that raises is turned into a rejection."""
    out = validate_report(HostileDict(payload()), defn)
    assert codes(out) == [("unprocessable", None)]
    assert codes(validate_report({("tuple",): 1, "kind": "result"}, defn))[0][0] == "missing_field"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=20,
)


def _mutations() -> Iterator[st.SearchStrategy[dict[str, Any]]]:
    for kind in ("result", "turnout"):
        base = payload(kind)
        yield st.builds(
            lambda k, v, base=base: {**base, k: v},
            st.sampled_from([*base.keys(), "extra"]),
            json_values,
        )


@settings(max_examples=300)
@given(st.one_of(json_values, *_mutations()))
def test_any_json_value_is_accepted_or_rejected(value: Any) -> None:
    """validate_report is total: any JSON value gives Accepted or a non-empty Rejected."""
    out = validate_report(value, reference())
    assert isinstance(out, Accepted | Rejected)
    if isinstance(out, Rejected):
        assert out.problems and all(p.code in CODES for p in out.problems)


def test_malformed_bytes_are_malformed_json(defn: ElectionDefinition) -> None:
    """validate_report_bytes rejects non-JSON and non-UTF-8 as malformed_json."""
    assert codes(validate_report_bytes(b"{nope", defn)) == [("malformed_json", None)]
    assert codes(validate_report_bytes(b"\xff\xfe", defn)) == [("malformed_json", None)]
    assert isinstance(validate_report_bytes(b'{"kind":"result"}', defn), Rejected)


def test_every_code_is_documented_in_the_contract() -> None:
    """The CODES table and docs/contract.md list the same rejection codes."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Rejections") : text.index("## Tally semantics")]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert documented == set(CODES)


def test_codes_used_by_tests_are_in_the_table() -> None:
    """Every code this suite expects is part of the stable CODES table."""
    assert {code for _, code, _ in REJECTIONS} <= set(CODES)


def test_lone_surrogates_are_rejected_not_echoed(defn: ElectionDefinition) -> None:
    """A report_id JSON can carry but UTF-8 cannot is a bad_report_id, never echoed back."""
    verdict = validate_report(payload(report_id="bad\ud800"), defn)
    assert isinstance(verdict, Rejected)
    assert verdict.report_id is None
    assert any(p.code == "bad_report_id" for p in verdict.problems)
