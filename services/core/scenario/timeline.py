"""The night as a timeline: what is delivered, and when.

A night is a list of `Emitted` in delivery order. `offset_seconds` is the
delivery time, in seconds after the night's epoch (`night_epoch`: the first
turnout mark in the election's own time zone, 10:00 Asia/Almaty for
kz-2021). It is the seam for real-time sinks: a sink paces the list by the
offsets (scaled by a speed factor) and sends each `wire()` payload. Delivery
time is not the report's `reported_at` (the commission's clock): a late or
reordered report is delivered after reports stamped later than itself.

Payloads are domain `Report`s, except malformed ones, which no domain type
can hold: those are raw JSON-ready dicts, meant to be rejected by
`votewire.core.validation.validate_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from votewire.core.codec import encode_report
from votewire.core.models import ElectionDefinition, Report, ReportKind

__all__ = ["Emitted", "JSONObject", "night_epoch", "report_id"]

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Emitted:
    """One delivery of the night."""

    offset_seconds: float
    """When it is delivered, in seconds after `night_epoch`."""
    payload: Report | JSONObject
    """A valid report, or (malformed only) the raw JSON object sent."""
    fault: str | None = None
    """None for a clean report; else what the fault injector made of it:
    "duplicate", "wrong_figures" (revision 1 of a corrected report),
    "correction" (its revision 2), "stale" (revision 1 again, after the
    correction), "late", "reordered", or "malformed:<code>" where <code> is
    the `validation.CODES` entry the payload must be rejected with."""

    @property
    def malformed(self) -> bool:
        """True iff the payload is a raw dict that validation must reject."""
        return isinstance(self.payload, dict)

    def wire(self) -> JSONObject:
        """The JSON object sent: `codec.encode_report` of a report, or the raw dict."""
        if isinstance(self.payload, dict):
            return self.payload
        return encode_report(self.payload)


def night_epoch(definition: ElectionDefinition) -> datetime:
    """Offset 0 of the night: the first turnout mark on polling day, election zone."""
    hour, minute = (int(x) for x in definition.turnout_marks[0].split(":"))
    day = date.fromisoformat(definition.date)
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(definition.timezone))


def report_id(precinct_id: str, kind: ReportKind, mark: str, revision: int) -> str:
    """The deterministic id of a precinct's report: unique per slot and revision."""
    if kind == "turnout":
        return f"{precinct_id}/turnout/{mark}/r{revision}"
    return f"{precinct_id}/result/r{revision}"
