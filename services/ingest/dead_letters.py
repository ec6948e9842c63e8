"""Ingest's dead letters: why a report was refused, what it said, who sent it.

One record per refused report (or per unreadable request body), in the one
schema of `votewire.core.dead_letter` with `"stage": "ingest"` and the
sender (credential id, channel, client address; never its token).
`payload` is the raw text of the report (its NDJSON line, the whole body of
a single-report request, or, for an element of a JSON array, the element
re-serialised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from votewire.core.dead_letter import MAX_PAYLOAD_CHARS, dead_letter_record
from votewire.core.validation import Problem

__all__ = ["MAX_PAYLOAD_CHARS", "Sender", "dead_letter"]


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a request: credential id, channel ("http", "import"), client address."""

    credential_id: str
    via: str
    peer: str | None = None


def dead_letter(
    sender: Sender,
    received_at: datetime,
    report_id: str | None,
    problems: Sequence[Problem],
    payload: str,
    election_id: str | None = None,
) -> tuple[bytes, bytes]:
    """(key, value) of the dead-letter record; keyed by the election when known,
    else by the sender's credential id."""
    key, value = dead_letter_record(
        "ingest",
        received_at,
        [p.to_dict() for p in problems] or [{"code": "unprocessable", "field": None,
                                            "message": "refused"}],
        payload,
        election_id=election_id,
        report_id=report_id,
        sender={"credential_id": sender.credential_id, "via": sender.via, "peer": sender.peer},
    )
    return key or sender.credential_id.encode(), value
