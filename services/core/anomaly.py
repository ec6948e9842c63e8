"""Anomalies: the events of an election's anomaly feed, built from flags and dead letters.

An anomaly is what an editor acts on during the night: which precinct, what,
when, who sent it. Two sources make them:

- every flag the core raises while folding (`race_state.Flag`:
  `turnout_decreased`, `result_below_turnout`, `revision_conflict`,
  `report_id_conflict`, `call_disagrees`), `flag_anomaly`;
- every dead letter of a known election (`dead_letter` schema 1, ingest's
  refusals and the aggregate's), `read_dead_letter` then `dead_letter_anomaly`.

The document (JSON-ready, the same from every source):

    {"anomaly_id": 20 hex digits, "election_id", "source": "flag" | "dead_letter",
     "code": the flag's code or the dead letter's reason, "message": for people,
     "race_id", "race_name", "region_id", "precinct_id", "precinct_name", "mark",
     "report_id", "at": when the sender says it happened (reported_at,
     called_at, or the dead letter's received_at), "sender": credential id or
     null, "stage": "ingest" | "aggregate" | null, "figures": {...}}

Identity: `anomaly_id` is a hash of what makes the anomaly the same one
(the code, the race, precinct and mark, and the code's own figures, e.g. both
report ids of a conflict, in sorted order), never of when it was noticed. A
re-fold, which raises every flag again, and a re-delivered dead letter thus
give the same id, and the feed (infra/anomaly_feed.py) keeps the first. A
refused report sent again and again by the same credential is one anomaly.

`AnomalySink` is the port the folds publish through: `offer` never blocks
and never raises (the Redis adapter queues and writes later).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from votewire.core.codec import MalformedJson, dumps, loads, loads_untrusted
from votewire.core.definition_decoder import CHANNEL_ID
from votewire.core.events import Event, event_time
from votewire.core.models import ElectionDefinition
from votewire.core.race_state import Flag

Anomaly = dict[str, Any]
ID_HEX = 20
MAX_LETTER_BYTES = 1 << 20
MAX_MESSAGE = 300

_IDENTITY: Mapping[str, tuple[str, ...]] = {
    "turnout_decreased": ("earlier_mark", "later_mark", "earlier_ballots_cast",
                          "later_ballots_cast"),
    "result_below_turnout": ("turnout_mark", "result_ballots_cast", "turnout_ballots_cast"),
    "call_disagrees": ("call_id", "outcome_type", "outcome_candidate_ids"),
}  # fmt: skip
"""Per flag code, the figures that make two flags the same anomaly."""


class AnomalySink(Protocol):
    """Takes anomalies to publish; never blocks, never raises."""

    def offer(self, anomaly: Mapping[str, Any]) -> None: ...


class NoAnomalies:
    """`AnomalySink` that drops everything (a fold with no feed to publish to)."""

    def offer(self, anomaly: Mapping[str, Any]) -> None:
        return None


def anomaly_id(*parts: Any) -> str:
    """A stable id for the JSON-ready `parts`."""
    return hashlib.sha256(dumps(list(parts))).hexdigest()[:ID_HEX]


def flag_anomaly(
    definition: ElectionDefinition,
    flag: Flag,
    event: Event | None = None,
    sender: str | None = None,
) -> Anomaly:
    """The anomaly of `flag`, raised by `event` (the report or call just folded), sent by
    the credential `sender` when known (a call's `called_by` is its sender)."""
    figures = dict(flag.figures)
    if flag.code in ("revision_conflict", "report_id_conflict"):
        ids = sorted({flag.report_id, str(figures.get("rival_report_id"))})
        revisions = sorted({str(figures.get("revision")), str(figures.get("rival_revision"))})
        identity: list[Any] = [ids, revisions]
    else:
        identity = [figures.get(k) for k in _IDENTITY.get(flag.code, sorted(figures))]
    key = [definition.election_id, flag.code, flag.race_id, flag.precinct_id, flag.mark]
    race = definition.race(flag.race_id)
    names = {c.candidate_id: c.name for c in race.candidates} if race else {}
    if flag.code == "call_disagrees":
        sender = str(figures.get("called_by") or "") or sender
    return {
        "anomaly_id": anomaly_id("flag", *key, identity),
        "election_id": definition.election_id,
        "source": "flag",
        "code": flag.code,
        "message": describe(flag.code, figures, flag.report_id, names),
        **_place(definition, flag.race_id, flag.precinct_id),
        "mark": flag.mark,
        "report_id": flag.report_id,
        "at": event_time(event).isoformat() if event is not None else None,
        "sender": sender,
        "stage": None,
        "figures": figures,
    }


def read_dead_letter(value: bytes | None) -> dict[str, Any] | None:
    """A dead-letter record as a dict, if it is one that names an election (an id of the
    channel grammar); None for anything else, never an exception."""
    if not value or len(value) > MAX_LETTER_BYTES:
        return None
    try:
        letter = loads(value)
    except (ValueError, RecursionError):
        return None
    election_id = letter.get("election_id") if isinstance(letter, dict) else None
    if not isinstance(election_id, str) or not CHANNEL_ID.match(election_id):
        return None
    assert isinstance(letter, dict)
    return letter


def dead_letter_anomaly(letter: Mapping[str, Any], definition: ElectionDefinition) -> Anomaly:
    """The anomaly of a dead letter (`read_dead_letter`) of `definition`'s election."""
    election_id = definition.election_id
    problems = [p for p in letter.get("problems") or [] if isinstance(p, dict)]
    first_code = problems[0].get("code") if problems else None
    reason = _text(letter.get("reason"), 64) or _text(first_code, 64) or "refused"
    found_sender, found_payload = letter.get("sender"), letter.get("payload")
    sender: Mapping[str, Any] = found_sender if isinstance(found_sender, dict) else {}
    credential = _text(sender.get("credential_id"))
    payload = found_payload if isinstance(found_payload, str) else ""
    named = _named_in(payload)
    race_id, precinct_id = _text(named.get("race_id")), _text(named.get("precinct_id"))
    report_id = _text(letter.get("report_id"))
    stage = _text(letter.get("stage"))
    digest = hashlib.sha256(payload.encode("utf-8", "backslashreplace")).hexdigest()
    first = (_text(problems[0].get("message"), MAX_MESSAGE) or "") if problems else ""
    field = _text(problems[0].get("field")) if problems else None
    return {
        "anomaly_id": anomaly_id(
            "dead_letter", election_id, stage, reason, report_id, credential, digest
        ),
        "election_id": election_id,
        "source": "dead_letter",
        "code": reason,
        "message": _cut(f"{field}: {first}" if field else first or f"Refused ({reason})"),
        **_place(definition, race_id, precinct_id),
        "mark": _text(named.get("mark")),
        "report_id": report_id,
        "at": _text(letter.get("received_at")),
        "sender": credential,
        "stage": stage,
        "figures": {"problems": len(problems), "via": _text(sender.get("via"))},
    }


def describe(
    code: str, f: Mapping[str, Any], report_id: str, names: Mapping[str, str] | None = None
) -> str:
    """One sentence for an editor about a flag and its figures (`names`: candidate names
    by id, for a call)."""
    if code == "turnout_decreased":
        return (f"Turnout fell from {f.get('earlier_ballots_cast')} at {f.get('earlier_mark')} "
                f"to {f.get('later_ballots_cast')} at {f.get('later_mark')}")  # fmt: skip
    if code == "result_below_turnout":
        return (f"The result counts {f.get('result_ballots_cast')} ballots, fewer than the "
                f"{f.get('turnout_ballots_cast')} reported at {f.get('turnout_mark')}")  # fmt: skip
    if code == "revision_conflict":
        return _cut(f"Two different protocols under revision {f.get('revision')} "
                    f"({report_id} and {f.get('rival_report_id')}); kept the "
                    f"{f.get('kept')} one")  # fmt: skip
    if code == "report_id_conflict":
        return _cut(f"Report id {report_id} was sent again with other figures; kept the "
                    f"{f.get('kept')} one")  # fmt: skip
    if code == "call_disagrees":

        def who(ids: Any) -> str:
            return ", ".join((names or {}).get(i, i) for i in str(ids or "").split(",") if i)

        called = f"{f.get('call_type')} {who(f.get('call_candidate_ids'))}".strip()
        counted = f"{f.get('outcome_type')} {who(f.get('outcome_candidate_ids'))}".strip()
        return _cut(f"Called {called} by {f.get('called_by')}, but the complete count "
                    f"gives {counted}")  # fmt: skip
    return _cut(f"{code}: {dict(f)}")


def _place(
    definition: ElectionDefinition, race_id: str | None, precinct_id: str | None
) -> dict[str, str | None]:
    race = definition.race(race_id) if race_id else None
    precinct = definition.precinct(race_id, precinct_id) if race_id and precinct_id else None
    return {
        "race_id": race_id,
        "race_name": race.name if race else None,
        "region_id": race.region_id if race else None,
        "precinct_id": precinct_id,
        "precinct_name": precinct.name if precinct else None,
    }


def _named_in(payload: str) -> dict[str, Any]:
    """The refused payload's own fields, when it is a JSON object (hostile text: bounded)."""
    if not payload or len(payload) > 64 * 1024:
        return {}
    try:
        value = loads_untrusted(payload)
    except MalformedJson:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 128) -> str | None:
    """A string field of hostile text, cut, and encodable (lone surrogates escaped)."""
    return _unicode(value[:limit]) if isinstance(value, str) and value else None


def _unicode(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _cut(text: str) -> str:
    text = _unicode(text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
