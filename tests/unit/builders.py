"""Small hand-checkable definitions and reports for the unit tests.

`small_definition()` is the reference election of the tests:

- region N (north): race N1 (plurality, against-all with repeat rule,
  candidates A/Nur Otan, B/Auyl, C/independent; precincts P1 = 1000 and
  P2 = 500 registered) and race N2 (majority, no against-all, candidates
  D/Nur Otan, E/Adal; precinct P1 = 200);
- region S (south): race S1 (plurality, against-all ignored, candidates
  F/Nur Otan, G/Ak Zhol; precinct P1 = 300);
- marks 10:00, 12:00, 16:00; share base ballots_cast.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from votewire.core.codec import decode_definition
from votewire.core.models import ElectionDefinition, ResultReport, TurnoutReport

ELECTION = "kz-test"
AT = datetime(2021, 7, 25, 20, 30, tzinfo=timezone(timedelta(hours=6)))


def definition_dict(**overrides: Any) -> dict[str, Any]:
    """The JSON object of `small_definition`, with top-level overrides."""
    defn: dict[str, Any] = {
        "election_id": ELECTION,
        "name": "Test election",
        "date": "2021-07-25",
        "timezone": "Asia/Almaty",
        "turnout_marks": ["10:00", "12:00", "16:00"],
        "share_base": "ballots_cast",
        "test": True,
        "regions": [
            {"region_id": "N", "name": "North", "timezone": None},
            {"region_id": "S", "name": "South", "timezone": "Asia/Aqtobe"},
        ],
        "races": [
            race_dict(
                "N1",
                "N",
                [("A", "Nur Otan"), ("B", "Auyl"), ("C", "independent")],
                [("P1", 1000), ("P2", 500)],
                against_all=True,
                against_all_rule="repeat_election",
            ),
            race_dict(
                "N2", "N", [("D", "Nur Otan"), ("E", "Adal")], [("P1", 200)], winner_rule="majority"
            ),
            race_dict(
                "S1", "S", [("F", "Nur Otan"), ("G", "Ak Zhol")], [("P1", 300)], against_all=True
            ),
        ],
    }
    defn.update(overrides)
    return defn


def race_dict(
    race_id: str,
    region_id: str,
    candidates: list[tuple[str, str]],
    precincts: list[tuple[str, int]],
    *,
    against_all: bool = False,
    winner_rule: str = "plurality",
    against_all_rule: str = "ignore",
    seats: int = 1,
) -> dict[str, Any]:
    return {
        "race_id": race_id,
        "name": f"Race {race_id}",
        "region_id": region_id,
        "office": "rural akim",
        "seats": seats,
        "against_all": against_all,
        "winner_rule": winner_rule,
        "against_all_rule": against_all_rule,
        "candidates": [
            {"candidate_id": cid, "name": f"Candidate {cid}", "party": party}
            for cid, party in candidates
        ],
        "precincts": [
            {"precinct_id": pid, "name": f"Precinct {pid}", "registered": reg}
            for pid, reg in precincts
        ],
    }


def small_definition(**overrides: Any) -> ElectionDefinition:
    return decode_definition(definition_dict(**overrides))


def one_region(races: int) -> ElectionDefinition:
    """Region N alone with `races` races R00000... of one precinct P1 (100 registered)
    and candidates A (Nur Otan), B (Auyl) each: a region as wide as wanted."""
    return decode_definition(
        definition_dict(
            regions=[{"region_id": "N", "name": "North", "timezone": None}],
            races=[
                race_dict(f"R{i:05d}", "N", [("A", "Nur Otan"), ("B", "Auyl")], [("P1", 100)])
                for i in range(races)
            ],
        )
    )


@cache
def reference() -> ElectionDefinition:
    """`small_definition()` built once (definitions are immutable)."""
    return small_definition()


def turnout(
    race_id: str,
    precinct_id: str,
    mark: str,
    ballots: int,
    *,
    revision: int = 1,
    report_id: str | None = None,
) -> TurnoutReport:
    rid = report_id or f"t-{race_id}-{precinct_id}-{mark}-r{revision}"
    return TurnoutReport(rid, ELECTION, race_id, precinct_id, mark, ballots, revision, AT)


def result(
    race_id: str,
    precinct_id: str,
    votes: dict[str, int],
    *,
    against_all: int = 0,
    invalid: int = 0,
    registered: int | None = None,
    revision: int = 1,
    report_id: str | None = None,
) -> ResultReport:
    """A result whose ballots_cast is the sum of its parts."""
    defn = reference()
    precinct = defn.precinct(race_id, precinct_id)
    assert precinct is not None
    race = defn.race(race_id)
    assert race is not None
    full = {c.candidate_id: votes.get(c.candidate_id, 0) for c in race.candidates}
    ballots = sum(full.values()) + against_all + invalid
    return ResultReport(
        report_id or f"r-{race_id}-{precinct_id}-r{revision}",
        ELECTION,
        race_id,
        precinct_id,
        precinct.registered if registered is None else registered,
        ballots,
        full,
        against_all,
        invalid,
        revision,
        AT,
    )


def payload(kind: str = "result", **overrides: Any) -> dict[str, Any]:
    """A valid wire payload of N1/P1 (result or turnout), with field overrides."""
    obj: dict[str, Any]
    if kind == "turnout":
        obj = {
            "kind": "turnout",
            "report_id": "t-1",
            "election_id": ELECTION,
            "race_id": "N1",
            "precinct_id": "P1",
            "mark": "12:00",
            "ballots_cast": 400,
            "revision": 1,
            "reported_at": "2021-07-25T12:05:00+06:00",
        }
    else:
        obj = {
            "kind": "result",
            "report_id": "r-1",
            "election_id": ELECTION,
            "race_id": "N1",
            "precinct_id": "P1",
            "registered": 1000,
            "ballots_cast": 800,
            "votes": {"A": 500, "B": 200, "C": 50},
            "against_all": 30,
            "invalid": 20,
            "revision": 1,
            "reported_at": "2021-07-25T20:45:00+06:00",
        }
    obj.update(overrides)
    return obj
