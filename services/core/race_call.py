"""Race calls: a decision desk's call of a race, kept beside the computed outcome.

A desk with an editor credential calls a race before it is complete, the way
AP's winner flags and every newsroom's decision desk work: `winner` (the
candidates it says are elected, 1 to `seats` of them), `runoff` (the two it
says go to a second round; majority races only) or `too_close` (no
candidates: the desk says it will not call). A retraction is a call too, of
type `retracted`. A call never replaces the computed outcome: the race view
shows both, `call` beside `outcome`.

Wire form: a record of the reports topic with key `keys.race_key(E, R)`, so a
race's calls share its reports' partition and stage 1, replay and audit fold
them with its reports:

    {"kind": "call", "call_id": str, "election_id": E, "race_id": R,
     "type": "winner" | "runoff" | "too_close" | "retracted",
     "candidate_ids": [str, ...], "note": str,
     "called_at": ISO 8601 with a UTC offset, "called_by": credential id}

The rule of the newest (`CallBook`): a race's standing call is the call with
the greatest (`called_at`, `call_id`), then the smallest canonical encoding;
a pure function of the *set* of calls offered, whatever their order or
repetition. `called_at` is the clock of the ingest process that took the
call; a retraction made within the clock skew between two ingest processes
may lose to the call it retracts (then retract again).

Agreement (`disagrees`): once a race is complete, a `winner` call disagrees
unless the outcome is `winner` with the same candidates, a `runoff` call
unless the outcome is a runoff between the same two. `too_close` and
`retracted` claim nothing, so they never disagree.

Untrusted input (a desk's request body) is checked by `validate_call`, a
whole record from a file by `validate_call_record`; both return a `RaceCall`
or a non-empty list of `Problem`s with the codes of `CALL_CODES`, never raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from votewire.core.codec import dumps
from votewire.core.definition_decoder import CHANNEL_ID
from votewire.core.models import ElectionDefinition, Race
from votewire.core.outcome import OutcomeView
from votewire.core.report_checks import Problem, is_utf8

CallType = Literal["winner", "runoff", "too_close", "retracted"]
CALL_TYPES: tuple[CallType, ...] = get_args(CallType)
DESK_TYPES = ("winner", "runoff", "too_close")
"""What a desk may send as a call; `retracted` is what a retraction makes."""
MAX_NOTE = 280
MAX_CALLED_BY = 64

CALL_CODES: Mapping[str, str] = {
    "not_an_object": "the call is not a JSON object",
    "unknown_field": "a field a call does not define is present",
    "missing_field": "a required field is absent",
    "wrong_type": "a field has the wrong JSON type",
    "unknown_call_type": '`type` is not "winner", "runoff" or "too_close"',
    "unknown_candidate": "a candidate id is not a candidate of the race",
    "bad_candidates": "the number of candidates does not fit the type, or one is repeated",
    "runoff_not_possible": "a runoff call in a race that is not decided by majority",
    "bad_note": f"`note` is over {MAX_NOTE} characters or not Unicode",
    "bad_call_id": "`call_id` is not 1-128 of A-Z a-z 0-9 _ . -",
    "bad_timestamp": "`called_at` is not ISO 8601 with a UTC offset",
    "bad_called_by": f"`called_by` is empty or over {MAX_CALLED_BY} characters",
    "unknown_election": "`election_id` is not the definition's election",
    "unknown_race": "`race_id` is not a race of the election",
}
"""Every code a refused call can carry, with its meaning."""

BODY_FIELDS = frozenset({"type", "candidate_ids", "note"})
RECORD_FIELDS = frozenset(
    {"kind", "call_id", "election_id", "race_id", "type", "candidate_ids", "note", "called_at",
     "called_by"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RaceCall:
    """One call of a race (see the module doc)."""

    call_id: str
    election_id: str
    race_id: str
    type: CallType
    candidate_ids: tuple[str, ...]
    called_at: datetime
    """Timezone-aware."""
    called_by: str
    note: str = ""

    kind: Literal["call"] = "call"

    def rank(self) -> tuple[datetime, str, bytes]:
        """What the rule of the newest compares."""
        return (self.called_at, self.call_id, call_to_bytes(self))


def encode_call(call: RaceCall) -> dict[str, Any]:
    """A call as its JSON object (the wire form, and the race view's `call`)."""
    return {
        "kind": "call",
        "call_id": call.call_id,
        "election_id": call.election_id,
        "race_id": call.race_id,
        "type": call.type,
        "candidate_ids": list(call.candidate_ids),
        "note": call.note,
        "called_at": call.called_at.isoformat(),
        "called_by": call.called_by,
    }


def call_to_bytes(call: RaceCall) -> bytes:
    """The canonical encoding of a call (`codec.dumps`)."""
    return dumps(encode_call(call))


def decode_call_trusted(obj: Any) -> RaceCall:
    """Rebuild a call this system encoded; a malformed object raises KeyError/ValueError/
    TypeError (or yields nonsense), as `codec.decode_report_trusted` does."""
    kind = obj["type"]
    if kind not in CALL_TYPES:
        raise ValueError(f"unknown call type {kind!r}")
    called_at = datetime.fromisoformat(obj["called_at"])
    if called_at.tzinfo is None:
        raise ValueError("called_at has no UTC offset")
    return RaceCall(
        call_id=str(obj["call_id"]),
        election_id=str(obj["election_id"]),
        race_id=str(obj["race_id"]),
        type=kind,
        candidate_ids=tuple(str(c) for c in obj["candidate_ids"]),
        called_at=called_at,
        called_by=str(obj["called_by"]),
        note=str(obj.get("note", "")),
    )


class CallBook:
    """A race's standing call under the rule of the newest. Order-free, idempotent."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current: RaceCall | None = None

    def offer(self, call: RaceCall) -> bool:
        """True iff `call` became the standing call (False: it equals it or is older)."""
        current = self.current
        if current is not None and call.rank() <= current.rank():
            return False
        self.current = call
        return True


def disagrees(call: RaceCall | None, outcome: OutcomeView | None) -> bool:
    """Whether `call` says otherwise than the complete race's `outcome` (module doc)."""
    if call is None or outcome is None or call.type not in ("winner", "runoff"):
        return False
    return outcome["type"] != call.type or set(outcome["candidate_ids"]) != set(call.candidate_ids)


def validate_call(
    body: Any,
    definition: ElectionDefinition,
    race_id: str,
    *,
    call_id: str,
    called_at: datetime,
    called_by: str,
) -> RaceCall | list[Problem]:
    """A desk's call of `race_id` (a race of `definition`) from its request body
    `{"type", "candidate_ids"?, "note"?}`; the server supplies id, time and caller."""
    race = definition.race(race_id)
    if race is None:
        return [Problem("unknown_race", "race_id", f"no race {_show(race_id)}")]
    if not isinstance(body, dict):
        return [Problem("not_an_object", None, "a call is a JSON object")]
    problems = _unknown(body, BODY_FIELDS)
    kind = body.get("type")
    if "type" not in body:
        problems.append(Problem("missing_field", "type", "the call's type is required"))
    elif kind not in DESK_TYPES:
        problems.append(
            Problem("unknown_call_type", "type", f"{_show(kind)} is not one of {DESK_TYPES}")
        )
    note = body.get("note", "")
    if not isinstance(note, str):
        problems.append(Problem("wrong_type", "note", "expected a string"))
    elif len(note) > MAX_NOTE or not is_utf8(note):
        problems.append(Problem("bad_note", "note", f"at most {MAX_NOTE} Unicode characters"))
    candidates = _candidates(body.get("candidate_ids", []), race, kind, problems)
    if problems:
        return problems
    assert isinstance(note, str) and candidates is not None and kind in DESK_TYPES
    return RaceCall(call_id, definition.election_id, race.race_id, kind, candidates, called_at,
                    called_by, note)  # fmt: skip


def retraction(
    definition: ElectionDefinition, race: Race, *, call_id: str, called_at: datetime,
    called_by: str, note: str = "",
) -> RaceCall:  # fmt: skip
    """The call that retracts whatever stands for `race`."""
    return RaceCall(call_id, definition.election_id, race.race_id, "retracted", (), called_at,
                    called_by, note)  # fmt: skip


def validate_call_record(obj: Any, definition: ElectionDefinition) -> RaceCall | list[Problem]:
    """A whole call record (the wire form) from outside, e.g. a line of a reports file."""
    if not isinstance(obj, dict):
        return [Problem("not_an_object", None, "a call is a JSON object")]
    problems = _unknown(obj, RECORD_FIELDS)
    for name in sorted(RECORD_FIELDS - {"note"} - set(obj)):
        problems.append(Problem("missing_field", name, f"{name} is required"))
    if problems:
        return problems
    if obj["kind"] != "call":
        return [Problem("wrong_type", "kind", 'a call record has "kind": "call"')]
    call_id, called_by = obj["call_id"], obj["called_by"]
    if not isinstance(call_id, str) or not CHANNEL_ID.match(call_id):
        problems.append(Problem("bad_call_id", "call_id", f"{_show(call_id)} is not a call id"))
    if not isinstance(called_by, str) or not 0 < len(called_by) <= MAX_CALLED_BY:
        problems.append(Problem("bad_called_by", "called_by", "1-64 characters"))
    called_at = _timestamp(obj["called_at"], problems)
    if obj["election_id"] != definition.election_id:
        problems.append(Problem("unknown_election", "election_id", "not this election"))
    race_id = obj["race_id"]
    if not isinstance(race_id, str):
        problems.append(Problem("wrong_type", "race_id", "expected a string"))
    if problems:
        return problems
    assert isinstance(race_id, str) and isinstance(call_id, str) and called_at is not None
    if obj["type"] == "retracted":
        race = definition.race(race_id)
        if race is None:
            return [Problem("unknown_race", "race_id", f"no race {_show(race_id)}")]
        if obj["candidate_ids"] != []:
            return [Problem("bad_candidates", "candidate_ids", "a retraction names none")]
        note = obj.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE or not is_utf8(note):
            return [Problem("bad_note", "note", f"at most {MAX_NOTE} Unicode characters")]
        return retraction(definition, race, call_id=call_id, called_at=called_at,
                          called_by=called_by, note=note)  # fmt: skip
    body = {k: obj[k] for k in BODY_FIELDS if k in obj}
    return validate_call(body, definition, race_id, call_id=call_id, called_at=called_at,
                         called_by=called_by)  # fmt: skip


def _candidates(
    value: Any, race: Race, kind: Any, problems: list[Problem]
) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        problems.append(Problem("wrong_type", "candidate_ids", "expected a list of ids"))
        return None
    known = {c.candidate_id for c in race.candidates}
    for cid in value:
        if cid not in known:
            message = f"{_show(cid)} is not a candidate of the race"
            problems.append(Problem("unknown_candidate", "candidate_ids", message))
    if len(set(value)) != len(value):
        problems.append(Problem("bad_candidates", "candidate_ids", "a candidate is repeated"))
    if kind == "winner" and not 0 < len(value) <= race.seats:
        problems.append(
            Problem("bad_candidates", "candidate_ids", f"a winner call names 1-{race.seats}")
        )
    elif kind == "runoff":
        if race.winner_rule != "majority":
            problems.append(Problem("runoff_not_possible", "type", "the race is plurality"))
        elif len(value) != 2:
            problems.append(Problem("bad_candidates", "candidate_ids", "a runoff names two"))
    elif kind == "too_close" and value:
        problems.append(Problem("bad_candidates", "candidate_ids", "too_close names none"))
    return tuple(value)


def _timestamp(value: Any, problems: list[Problem]) -> datetime | None:
    try:
        readable = isinstance(value, str) and len(value) <= 64
        found = datetime.fromisoformat(value) if readable else None
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        problems.append(Problem("bad_timestamp", "called_at", "ISO 8601 with a UTC offset"))
        return None
    return found


def _unknown(obj: dict[Any, Any], allowed: frozenset[str]) -> list[Problem]:
    return [
        Problem("unknown_field", str(k)[:64], f"{_show(k)} is not a field of a call")
        for k in sorted(obj, key=str)
        if k not in allowed
    ][:10]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
