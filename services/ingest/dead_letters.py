"""The dead-letter record: why a report was refused, what it said, who sent it.

One record per refused report (or per unreadable request body), on the
dead-letter topic, keyed by the sender's credential id. Value (JSON object):

    {"received_at": ISO-8601 UTC, "sender": {"credential_id", "via", "peer"},
     "report_id": str | null, "reason": first problem code,
     "problems": [{"code", "field", "message"}, ...],
     "payload": the text received (str), "payload_truncated": bool}

`payload` is the raw text of the report (its NDJSON line, the whole body of
a single-report request, or, for an element of a JSON array, the element
re-serialised), cut at `MAX_PAYLOAD_CHARS`. The sender is named by its
credential id, never its token. The record is ASCII JSON, so any string the
sender managed to put in (lone surrogates included) encodes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from votewire.core.validation import Problem

MAX_PAYLOAD_CHARS = 64 * 1024


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
) -> tuple[bytes, bytes]:
    """(key, value) of the dead-letter record."""
    record = {
        "received_at": received_at.isoformat(),
        "sender": {"credential_id": sender.credential_id, "via": sender.via, "peer": sender.peer},
        "report_id": report_id,
        "reason": problems[0].code if problems else "unprocessable",
        "problems": [p.to_dict() for p in problems],
        "payload": payload[:MAX_PAYLOAD_CHARS],
        "payload_truncated": len(payload) > MAX_PAYLOAD_CHARS,
    }
    value = json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return sender.credential_id.encode(), value.encode("ascii")
