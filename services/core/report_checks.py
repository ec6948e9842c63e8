"""The checks behind `validation.validate_report`, one function per stage.

`check_fields` returns the decoded report, or the problems found (non-empty).
It may raise only on objects no JSON parser produces (dict subclasses with
hostile methods); `validate_report` wraps it in a safety net. Messages show
offending values truncated (`_show`), so a hostile payload cannot blow up a
rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from votewire.core.models import (
    ElectionDefinition,
    Precinct,
    Race,
    Report,
    ResultReport,
    TurnoutReport,
)

MAX_COUNT = 10_000_000
MAX_REVISION = 1_000_000
MAX_REPORT_ID = 128
MAX_PROBLEMS = 50
_COMMON = (
    "kind", "report_id", "election_id", "race_id", "precinct_id",
    "ballots_cast", "revision", "reported_at",
)  # fmt: skip
TURNOUT_FIELDS = frozenset((*_COMMON, "mark"))
RESULT_FIELDS = frozenset((*_COMMON, "registered", "votes", "against_all", "invalid"))


def is_utf8(text: str) -> bool:
    """False for strings JSON can carry but UTF-8 cannot (lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a payload was rejected: a code from `validation.CODES`."""

    code: str
    field: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


def registered_tolerance(defined: int) -> int:
    """How far a reported `registered` may stray from the definition: max(50, 10 %)."""
    return max(50, defined // 10)


def _show(value: object) -> str:
    """A short, safe rendering of an untrusted value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -(10**18) < value < 10**18 else "a huge integer"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


class _Checker:
    """Accumulates problems while reading one payload's fields."""

    __slots__ = ("kind", "payload", "problems")

    def __init__(self, payload: dict[Any, Any], kind: str) -> None:
        self.payload = payload
        self.kind = kind
        self.problems: list[Problem] = []

    def add(self, code: str, field: str | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(code, field, message))

    def string(self, name: str) -> str | None:
        value = self.payload.get(name)
        if type(value) is str:
            return value
        if name in self.payload:
            self.add("wrong_type", name, f"expected a string, got {_show(value)}")
        return None

    def count(self, name: str, value: object) -> int | None:
        if type(value) is not int:
            self.add("wrong_type", name, f"expected an integer, got {_show(value)}")
        elif value < 0:
            self.add("negative_count", name, f"{value} is negative")
        elif value > MAX_COUNT:
            self.add("absurd_count", name, f"{_show(value)} is above {MAX_COUNT:,}")
        else:
            return value
        return None

    def field_count(self, name: str) -> int | None:
        if name not in self.payload:
            return None
        return self.count(name, self.payload[name])


def _structure(payload: object) -> _Checker | Problem:
    if not isinstance(payload, dict):
        return Problem("not_an_object", None, f"expected a JSON object, got {_show(payload)}")
    if "kind" not in payload:
        return Problem("missing_field", "kind", "`kind` is required")
    kind = payload["kind"]
    if kind == "turnout" and type(kind) is str:
        expected = TURNOUT_FIELDS
    elif kind == "result" and type(kind) is str:
        expected = RESULT_FIELDS
    else:
        message = f'expected "turnout" or "result", got {_show(kind)}'
        return Problem("unknown_kind", "kind", message)
    checker = _Checker(payload, kind)
    if payload.keys() != expected:
        for name in sorted(expected - payload.keys()):
            checker.add("missing_field", name, f"`{name}` is required for {kind} reports")
        for key in [k for k in payload if k not in expected][:MAX_PROBLEMS]:
            name = key[:40] if isinstance(key, str) else _show(key)
            checker.add("unknown_field", name, f"{_show(key)} is not a {kind} report field")
    return checker


def _scalars(c: _Checker) -> tuple[str | None, int | None, datetime | None]:
    """report_id, revision, reported_at."""
    rid = c.string("report_id")
    # isprintable() is False for lone surrogates too (category Cs).
    if rid is not None and not (0 < len(rid) <= MAX_REPORT_ID and rid.isprintable()):
        c.add("bad_report_id", "report_id", f"expected 1-{MAX_REPORT_ID} printable characters")
        rid = None
    revision = c.payload.get("revision")
    if type(revision) is not int:
        if "revision" in c.payload:
            c.add("wrong_type", "revision", f"expected an integer, got {_show(revision)}")
        revision = None
    elif not 1 <= revision <= MAX_REVISION:
        c.add("bad_revision", "revision", f"{_show(revision)} is not in [1, {MAX_REVISION:,}]")
        revision = None
    at_text = c.string("reported_at")
    at = None
    if at_text is not None:
        try:
            at = datetime.fromisoformat(at_text) if len(at_text) <= 64 else None
        except ValueError:
            at = None
        if at is None or at.utcoffset() is None:
            message = f"{_show(at_text)} is not ISO 8601 with a UTC offset"
            c.add("bad_timestamp", "reported_at", message)
            at = None
    return rid, revision, at


def _place(c: _Checker, defn: ElectionDefinition) -> tuple[Race | None, Precinct | None]:
    election_id = c.string("election_id")
    if election_id is not None and election_id != defn.election_id:
        c.add("unknown_election", "election_id", f"{_show(election_id)} is not this election")
    race_id = c.string("race_id")
    precinct_id = c.string("precinct_id")
    race = defn.race(race_id) if race_id is not None else None
    if race_id is not None and race is None:
        c.add("unknown_race", "race_id", f"{_show(race_id)} is not a race of this election")
    precinct = None
    if race is not None and precinct_id is not None:
        precinct = defn.precinct(race.race_id, precinct_id)
        if precinct is None:
            c.add("unknown_precinct", "precinct_id", f"{_show(precinct_id)} is not in this race")
    return race, precinct


def _votes(c: _Checker, race: Race | None) -> dict[str, int] | None:
    raw = c.payload.get("votes")
    if not isinstance(raw, dict):
        if "votes" in c.payload:
            c.add("wrong_type", "votes", f"expected an object, got {_show(raw)}")
        return None
    ok = True
    for key, value in raw.items():
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            c.count(f"votes.{key[:40]}" if isinstance(key, str) else "votes", value)
            ok = False
    if race is None:
        return None
    votes = {cand.candidate_id: raw.get(cand.candidate_id, 0) for cand in race.candidates}
    if len(raw) != sum(1 for cid in votes if cid in raw):
        for key in [k for k in raw if k not in votes][:MAX_PROBLEMS]:
            name = f"votes.{key[:40]}" if isinstance(key, str) else "votes"
            c.add("unknown_candidate", name, f"{_show(key)} is not a candidate of the race")
        ok = False
    return votes if ok else None


def check_fields(payload: object, defn: ElectionDefinition) -> Report | tuple[Problem, ...]:
    """Decode `payload` as a report of `defn`, or return why it is not one."""
    c = _structure(payload)
    if isinstance(c, Problem):
        return (c,)
    rid, revision, at = _scalars(c)
    race, precinct = _place(c, defn)
    ballots = c.field_count("ballots_cast")
    if c.kind == "turnout":
        mark = c.string("mark")
        if mark is not None and mark not in defn.turnout_marks:
            c.add("unknown_mark", "mark", f"{_show(mark)} is not a turnout mark")
        if ballots is not None and precinct is not None:
            ceiling = precinct.registered + registered_tolerance(precinct.registered)
            if ballots > ceiling:
                message = f"{ballots} ballots in a precinct of {precinct.registered} voters"
                c.add("ballots_exceed_registered", "ballots_cast", message)
        if c.problems:
            return tuple(c.problems)
        assert rid and race and precinct and mark and revision and at and ballots is not None
        return TurnoutReport(
            rid, defn.election_id, race.race_id, precinct.precinct_id, mark, ballots, revision, at
        )
    return _result(c, defn, (rid, revision, at), race, precinct, ballots)


def _result(
    c: _Checker,
    defn: ElectionDefinition,
    scalars: tuple[str | None, int | None, datetime | None],
    race: Race | None,
    precinct: Precinct | None,
    ballots: int | None,
) -> Report | tuple[Problem, ...]:
    registered = c.field_count("registered")
    against_all = c.field_count("against_all")
    invalid = c.field_count("invalid")
    votes = _votes(c, race)
    if race is not None and against_all and not race.against_all:
        c.add("against_all_not_allowed", "against_all", "this race has no against-all line")
    if registered is not None and precinct is not None:
        if abs(registered - precinct.registered) > registered_tolerance(precinct.registered):
            message = f"{registered} registered, the definition says {precinct.registered}"
            c.add("registered_mismatch", "registered", message)
        elif ballots is not None and ballots > registered:
            message = f"{ballots} ballots cast but {registered} registered"
            c.add("ballots_exceed_registered", "ballots_cast", message)
    if votes is not None and against_all is not None and invalid is not None:
        total = sum(votes.values()) + against_all + invalid
        if ballots is not None and total != ballots:
            message = f"votes + against_all + invalid = {total}, ballots_cast = {ballots}"
            c.add("sum_mismatch", "ballots_cast", message)
    if c.problems:
        return tuple(c.problems)
    rid, revision, at = scalars
    assert rid and race and precinct and revision and at and votes is not None
    assert registered is not None and ballots is not None
    assert against_all is not None and invalid is not None
    return ResultReport(
        rid, defn.election_id, race.race_id, precinct.precinct_id,
        registered, ballots, votes, against_all, invalid, revision, at,
    )  # fmt: skip
