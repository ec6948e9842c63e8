"""What the reports topic carries: a race's reports and its calls, told apart by `kind`.

Both are keyed `keys.race_key(E, R)` and folded by the race's `RaceState`:
a report (`"kind": "turnout" | "result"`, `codec`) or a race call
(`"kind": "call"`, `race_call`). Every reader of the topic (stage 1, replay,
audit, rebuild) decodes its records with `decode_event_trusted`, so a new
kind of record is added in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from votewire.core.codec import decode_report_trusted
from votewire.core.models import Report
from votewire.core.race_call import RaceCall, decode_call_trusted

Event = Report | RaceCall


def decode_event_trusted(obj: Any) -> Event:
    """A report or a call this system encoded (validated before it was published);
    a malformed object raises KeyError/ValueError/TypeError, as `decode_report_trusted`."""
    if type(obj) is dict and obj.get("kind") == "call":
        return decode_call_trusted(obj)
    return decode_report_trusted(obj)


def event_id(event: Event) -> str:
    """The report_id of a report, the call_id of a call."""
    return event.call_id if isinstance(event, RaceCall) else event.report_id


def event_time(event: Event) -> datetime:
    """When the sender says it happened: `reported_at`, or a call's `called_at`."""
    return event.called_at if isinstance(event, RaceCall) else event.reported_at
