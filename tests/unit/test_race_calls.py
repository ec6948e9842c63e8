"""Race calls in the core: the newest call stands whatever the order, retraction, the
call beside the outcome, the disagreement flag, snapshots, and untrusted call bodies."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from votewire.core.codec import decode_definition, dumps, loads
from votewire.core.events import decode_event_trusted
from votewire.core.race_call import (
    CALL_CODES,
    RaceCall,
    call_to_bytes,
    encode_call,
    retraction,
    validate_call,
    validate_call_record,
)
from votewire.core.race_state import RaceState
from votewire.core.report_checks import Problem
from votewire.core.tally import ElectionTally

from tests.unit.builders import AT, ELECTION, reference, result


def call(
    kind: str = "winner",
    candidates: tuple[str, ...] = ("A",),
    *,
    minutes: int = 0,
    call_id: str | None = None,
    race_id: str = "N1",
    by: str = "desk",
) -> RaceCall:
    cid = call_id or f"call-{kind}-{minutes}-{'-'.join(candidates)}"
    return RaceCall(cid, ELECTION, race_id, kind, candidates, AT + timedelta(minutes=minutes), by)  # type: ignore[arg-type]


def complete_n1(a: int, b: int) -> list[object]:
    """Results of both N1 precincts, A getting `a` and B `b` votes in each."""
    return [
        result("N1", "P1", {"A": a, "B": b}),
        result("N1", "P2", {"A": a, "B": b}),
    ]


CALLS = [
    call("winner", ("A",), minutes=1),
    call("winner", ("B",), minutes=5),
    call("too_close", (), minutes=3),
    retraction(
        reference(),
        reference().races[0],
        call_id="r-7",
        called_at=AT + timedelta(minutes=7),
        called_by="desk-2",
    ),
    call("winner", ("C",), minutes=7, call_id="a-7"),  # same time as the retraction: id decides
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(CALLS), min_size=1, max_size=12), st.randoms())
def test_the_standing_call_is_the_newest_whatever_the_order(
    picked: list[RaceCall], rnd: object
) -> None:
    """Any order and repetition of calls gives the same standing call and the same view
    (but its version): the greatest (called_at, call_id)."""
    forward, shuffled = RaceState(reference(), "N1"), RaceState(reference(), "N1")
    for c in picked:
        forward.apply(c)
    again = list(picked) * 2
    rnd.shuffle(again)  # type: ignore[attr-defined]
    for c in again:
        shuffled.apply(c)
    newest = max(picked, key=lambda c: (c.called_at, c.call_id))
    assert forward.call == shuffled.call == newest
    a, b = dict(forward.view()), dict(shuffled.view())
    a.pop("version"), b.pop("version")
    assert a == b
    assert forward.view()["call"] == {
        "type": newest.type,
        "candidate_ids": list(newest.candidate_ids),
        "note": "",
        "called_at": newest.called_at.isoformat(),
        "called_by": newest.called_by,
        "call_id": newest.call_id,
        "disagrees": False,
    }


def test_a_call_changes_the_view_once_and_counts_no_report() -> None:
    """A new call is `applied` (version + 1); the same call again is a duplicate and an
    older one stale; neither moves the version, and no report counter moves."""
    state = RaceState(reference(), "N1")
    first = state.apply(call("winner", ("A",), minutes=2))
    assert (first.status, first.changed, first.version) == ("applied", True, 1)
    assert state.apply(call("winner", ("A",), minutes=2)).status == "duplicate"
    older = state.apply(call("winner", ("B",), minutes=1))
    assert (older.status, older.changed, state.version) == ("stale", False, 1)
    assert state.counters == {"applied": 0, "duplicate": 0, "stale": 0, "conflict": 0}
    assert state.view()["call"]["candidate_ids"] == ["A"]  # type: ignore[index]


def test_a_retraction_stands_until_a_newer_call_and_keeps_who_and_when() -> None:
    """Retracting shows `retracted` with who and when; a later call replaces it; a
    retraction older than the standing call changes nothing."""
    definition = reference()
    race = definition.races[0]
    state = RaceState(definition, "N1")
    state.apply(call("winner", ("A",), minutes=1))
    state.apply(retraction(definition, race, call_id="x1", called_at=AT + timedelta(minutes=2),
                           called_by="desk-2"))  # fmt: skip
    shown = state.view()["call"]
    assert shown is not None and shown["type"] == "retracted" and shown["called_by"] == "desk-2"
    assert shown["candidate_ids"] == []
    state.apply(call("too_close", (), minutes=3))
    stale = retraction(definition, race, call_id="x0", called_at=AT, called_by="desk-2")
    assert not state.apply(stale).changed
    assert state.view()["call"]["type"] == "too_close"  # type: ignore[index]


def test_the_call_is_kept_beside_the_outcome_never_instead() -> None:
    """A complete race shows its computed outcome and, beside it, the desk's call."""
    state = RaceState(reference(), "N1")
    state.apply(call("winner", ("B",)))
    for report in complete_n1(300, 100):
        state.apply(report)  # type: ignore[arg-type]
    view = state.view()
    assert view["status"] == "complete"
    assert view["outcome"] is not None and view["outcome"]["candidate_ids"] == ["A"]
    assert view["call"] is not None and view["call"]["candidate_ids"] == ["B"]
    assert view["call"]["disagrees"] is True


def flags_of(state: RaceState, events: list[object]) -> list[str]:
    return [f.code for e in events for f in state.apply(e).flags]  # type: ignore[arg-type]


def test_a_call_that_disagrees_with_the_complete_outcome_raises_one_flag() -> None:
    """Completing a race called for B while A wins raises `call_disagrees` once; later
    changes with the same call and outcome raise nothing more."""
    state = RaceState(reference(), "N1")
    assert flags_of(state, [call("winner", ("B",))]) == []
    first, last = complete_n1(300, 100)
    assert flags_of(state, [first]) == []  # not complete yet: a call may run ahead
    raised = state.apply(last).flags  # type: ignore[arg-type]
    assert [f.code for f in raised] == ["call_disagrees"]
    flag = raised[0]
    assert flag.precinct_id is None and flag.report_id == last.report_id  # type: ignore[attr-defined]
    assert flag.figures["call_id"] == "call-winner-0-B"
    assert flag.figures["outcome_type"] == "winner" and flag.figures["outcome_candidate_ids"] == "A"
    correction = result("N1", "P2", {"A": 301, "B": 100}, revision=2)
    assert flags_of(state, [correction]) == []


def test_a_disagreeing_call_made_after_completion_raises_the_flag_at_once() -> None:
    """Calling a complete race against its outcome is flagged by the call itself; an
    agreeing call, `too_close` and a retraction are not."""
    state = RaceState(reference(), "N1")
    flags_of(state, complete_n1(300, 100))
    assert flags_of(state, [call("winner", ("A",), minutes=1)]) == []
    assert flags_of(state, [call("too_close", (), minutes=2)]) == []
    assert flags_of(state, [call("winner", ("C",), minutes=3)]) == ["call_disagrees"]
    definition = reference()
    at = AT + timedelta(minutes=4)
    gone = retraction(definition, definition.races[0], call_id="z", called_at=at, called_by="desk")
    assert flags_of(state, [gone]) == []


def test_a_runoff_call_agrees_only_with_a_runoff_between_the_same_two() -> None:
    """In a majority race, runoff D/E agrees with a runoff outcome, winner D does not."""
    definition = reference()
    state = RaceState(definition, "N2")
    state.apply(RaceCall("c1", ELECTION, "N2", "runoff", ("E", "D"), AT, "desk"))
    assert state.apply(result("N2", "P1", {"D": 90, "E": 80}, invalid=20)).flags == ()
    other = RaceState(definition, "N2")
    other.apply(RaceCall("c1", ELECTION, "N2", "winner", ("D",), AT, "desk"))
    codes = [f.code for f in other.apply(result("N2", "P1", {"D": 90, "E": 80}, invalid=20)).flags]
    assert codes == ["call_disagrees"]


def test_snapshots_keep_the_call() -> None:
    """`to_dict` carries the standing call, `from_dict` restores it, and `to_bytes` is
    `dumps(to_dict())` byte for byte, with a call and without one."""
    state = RaceState(reference(), "N1")
    state.apply(result("N1", "P1", {"A": 10}))
    assert state.to_bytes() == dumps(state.to_dict()) and "call" not in state.to_dict()
    state.apply(call("winner", ("A",)))
    assert state.to_bytes() == dumps(state.to_dict())
    back = RaceState.from_dict(reference(), loads(state.to_bytes()))
    assert back.call == state.call and back.view() == state.view()
    rebuilt = RaceState(reference(), "N1")
    for event in state.reports():  # what stage 1 re-applies under a new definition
        rebuilt.apply(event)
    assert rebuilt.call == state.call


def test_the_tally_folds_calls_without_counting_them_as_reports() -> None:
    """ElectionTally routes a call to its race; its report counters do not move."""
    tally = ElectionTally(reference())
    tally.apply(call("winner", ("A",)))
    assert tally.race_view("N1")["call"] is not None
    assert sum(tally.counters.values()) == 0
    assert tally.national_view()["races_total"] == 3


def test_a_call_record_decodes_from_its_wire_form() -> None:
    """The reports topic's decoder tells calls from reports; a call survives the round trip."""
    made = call("winner", ("A",), minutes=4)
    assert decode_event_trusted(loads(call_to_bytes(made))) == made
    report = result("N1", "P1", {"A": 1})
    from votewire.core.codec import report_to_bytes

    assert decode_event_trusted(loads(report_to_bytes(report))) == report
    assert validate_call_record(encode_call(made), reference()) == made


def codes(found: RaceCall | list[Problem]) -> list[str]:
    assert isinstance(found, list), found
    return [p.code for p in found]


def desk(body: object, race_id: str = "N1") -> RaceCall | list[Problem]:
    return validate_call(body, reference(), race_id, call_id="c", called_at=AT, called_by="desk")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], ["not_an_object"]),
        ({}, ["missing_field"]),
        ({"type": "winner"}, ["bad_candidates"]),
        ({"type": "winner", "candidate_ids": ["A", "B"]}, ["bad_candidates"]),
        ({"type": "winner", "candidate_ids": ["Z"]}, ["unknown_candidate"]),
        ({"type": "winner", "candidate_ids": "A"}, ["wrong_type"]),
        ({"type": "runoff", "candidate_ids": ["A", "B"]}, ["runoff_not_possible"]),
        ({"type": "too_close", "candidate_ids": ["A"]}, ["bad_candidates"]),
        ({"type": "retracted"}, ["unknown_call_type"]),
        ({"type": "winner", "candidate_ids": ["A"], "note": "x" * 281}, ["bad_note"]),
        ({"type": "winner", "candidate_ids": ["A"], "note": "\ud800"}, ["bad_note"]),
        ({"type": "winner", "candidate_ids": ["A"], "by": "me"}, ["unknown_field"]),
    ],
)
def test_a_desk_body_that_does_not_fit_the_race_is_refused_with_its_codes(
    body: object, expected: list[str]
) -> None:
    """Every way a call body can be wrong has its code; nothing raises."""
    assert codes(desk(body)) == expected


def test_a_desk_body_that_fits_becomes_the_call() -> None:
    """A winner, a runoff in a majority race and too_close are taken, with the server's
    id, time and caller."""
    won = desk({"type": "winner", "candidate_ids": ["A"], "note": "AP-style"})
    assert isinstance(won, RaceCall) and won.note == "AP-style" and won.called_by == "desk"
    assert isinstance(desk({"type": "runoff", "candidate_ids": ["D", "E"]}, "N2"), RaceCall)
    assert isinstance(desk({"type": "too_close"}), RaceCall)
    assert codes(desk({"type": "winner", "candidate_ids": ["A"]}, "nope")) == ["unknown_race"]


def test_a_call_record_from_a_file_is_checked_whole() -> None:
    """A record with a bad time, id, caller or election is refused with those codes."""
    record = encode_call(call("winner", ("A",)))
    bad = {**record, "called_at": "yesterday", "call_id": "a b", "called_by": "",
           "election_id": "other"}  # fmt: skip
    assert sorted(codes(validate_call_record(bad, reference()))) == [
        "bad_call_id", "bad_called_by", "bad_timestamp", "unknown_election",
    ]  # fmt: skip
    assert codes(validate_call_record({"kind": "call"}, reference()))[0] == "missing_field"


def test_every_call_code_is_documented_in_the_contract() -> None:
    """CALL_CODES and the table of docs/contract.md's "Race calls" list the same codes."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text("utf-8")
    section = text[text.index("## Race calls") : text.index("## Anomalies")]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M)) == set(CALL_CODES)


def test_the_documented_call_record_is_one_the_code_reads() -> None:
    """The call example of docs/contract.md is a valid record of its example election."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text("utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    definition = decode_definition(blocks[0])
    record = next(b for b in blocks if b.get("kind") == "call")
    found = validate_call_record(record, definition)
    assert isinstance(found, RaceCall) and encode_call(found) == record
