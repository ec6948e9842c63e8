"""Validation of untrusted report payloads against an election definition.

`validate_report(payload, definition)` is total: any Python value, however
hostile, yields `Accepted(report)` or `Rejected(problems)`; it never raises.
`payload` is the already-parsed JSON value; `validate_report_bytes` parses
raw bytes first. Problems are reported in a stable order (structure, then
per-field types and ranges, then references to the definition, then
cross-field sums); later stages are skipped when an earlier one failed in a
way that makes them meaningless. At most `MAX_PROBLEMS` problems are listed.

Choices this module makes (contract v1):
- A `type` error in JSON terms is always `wrong_type`; bool is not an int, and
  a float is never an int, even 3.0.
- Candidates missing from `votes` count as 0; `against_all` and `invalid` are
  required (0 where not applicable).
- A result's `registered` may differ from the definition's precinct figure
  (voters added on the day) unless it differs by more than 50 voters AND by
  more than 10 % of the definition's figure (`registered_mismatch`).
  A turnout figure above the largest acceptable `registered` is
  `ballots_exceed_registered`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from votewire.core.codec import MalformedJson, loads_untrusted
from votewire.core.models import ElectionDefinition, Report
from votewire.core.report_checks import (
    MAX_COUNT,
    MAX_PROBLEMS,
    Problem,
    check_fields,
    is_utf8,
    registered_tolerance,
)

__all__ = [
    "CODES",
    "MAX_COUNT",
    "Accepted",
    "Problem",
    "Rejected",
    "registered_tolerance",
    "validate_report",
    "validate_report_bytes",
]

CODES: Mapping[str, str] = {
    "malformed_json": "the bytes are not UTF-8 JSON (from readers, not validate_report)",
    "not_an_object": "the payload is not a JSON object",
    "unknown_kind": '`kind` is not "turnout" or "result"',
    "missing_field": "a required field is absent",
    "unknown_field": "a field that the kind does not define is present",
    "wrong_type": "a field has the wrong JSON type (bool and float are not integers)",
    "bad_report_id": "`report_id` is empty, longer than 128 characters or not printable",
    "bad_revision": "`revision` is below 1 or above 1,000,000",
    "bad_timestamp": "`reported_at` is not ISO 8601 with a UTC offset",
    "negative_count": "a count is below 0",
    "absurd_count": "a count is above 10,000,000",
    "unknown_election": "`election_id` is not the definition's election",
    "unknown_race": "`race_id` is not a race of the election",
    "unknown_precinct": "`precinct_id` is not a precinct of the race",
    "unknown_candidate": "a key of `votes` is not a candidate of the race",
    "unknown_mark": "`mark` is not a turnout mark of the definition",
    "against_all_not_allowed": "`against_all` > 0 in a race without an against-all line",
    "registered_mismatch": "`registered` differs from the definition by > 50 and > 10 %",
    "ballots_exceed_registered": "`ballots_cast` is above the registered voters",
    "sum_mismatch": "votes + against_all + invalid differs from ballots_cast",
    "unprocessable": "the payload could not be examined (a safety net; never expected)",
}
"""Every rejection code, stable across versions, with its meaning."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid report, decoded into the domain type."""

    report: Report


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid payload: at least one problem, and its `report_id` if readable."""

    problems: tuple[Problem, ...]
    report_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: `{"report_id": ..., "problems": [{code, field, message}]}`."""
        return {"report_id": self.report_id, "problems": [p.to_dict() for p in self.problems]}


def _report_id_of(payload: object) -> str | None:
    if isinstance(payload, dict):
        rid = payload.get("report_id")
        if isinstance(rid, str) and 0 < len(rid) <= 128 and is_utf8(rid):
            return rid
    return None


def validate_report(payload: object, definition: ElectionDefinition) -> Accepted | Rejected:
    """Check `payload` against the contract and `definition`; never raises."""
    try:
        result = check_fields(payload, definition)
    except Exception:  # a safety net: hostile objects must not crash a consumer
        problem = Problem("unprocessable", None, "the payload could not be examined")
        return Rejected((problem,), None)
    if isinstance(result, tuple):
        return Rejected(result[:MAX_PROBLEMS], _report_id_of(payload))
    return Accepted(result)


def validate_report_bytes(raw: bytes | str, definition: ElectionDefinition) -> Accepted | Rejected:
    """Parse `raw` as JSON, then `validate_report`; bad JSON is `malformed_json`."""
    try:
        payload = loads_untrusted(raw)
    except MalformedJson as exc:
        message = f"not valid JSON: {exc}"
        return Rejected((Problem("malformed_json", None, message),))
    return validate_report(payload, definition)
