"""The dead-letter record: one schema for every stage that refuses something.

Ingest refuses reports (validation, unknown election, unreadable body) and
the aggregate refuses records it cannot fold or outputs it cannot write (a
view over the size limit, say). Both write this record to the one
dead-letter topic, so audit and the anomalies panel read one shape:

    {"schema": 1,
     "stage": "ingest" | "aggregate",
     "received_at": ISO-8601 UTC,
     "election_id": str | null,      # when known
     "report_id": str | null,        # when readable
     "reason": the first problem's code,
     "problems": [{"code", "field", "message"}, ...],   # at least one
     "sender": {"credential_id", "via", "peer"} | null, # ingest: who sent it
     "key": str | null,              # aggregate: the Kafka key of the refused record
     "payload": the text received or refused (str), "payload_truncated": bool}

Key of the record: the election id when known, else the sender's credential
id (ingest) or the refused record's key (aggregate). The value is ASCII JSON
with sorted keys, so any string a sender managed to send (lone surrogates
included) encodes. `payload` is cut at `MAX_PAYLOAD_CHARS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

SCHEMA = 1
MAX_PAYLOAD_CHARS = 64 * 1024

Stage = Literal["ingest", "aggregate"]


def dead_letter_record(
    stage: Stage,
    received_at: datetime,
    problems: Sequence[Mapping[str, str | None]],
    payload: str,
    *,
    election_id: str | None = None,
    report_id: str | None = None,
    sender: Mapping[str, str | None] | None = None,
    key: bytes | None = None,
) -> tuple[bytes | None, bytes]:
    """(key, value) of a dead-letter record (see the module doc); `problems` non-empty."""
    if not problems:
        raise ValueError("a dead letter names at least one problem")
    record = {
        "schema": SCHEMA,
        "stage": stage,
        "received_at": received_at.isoformat(),
        "election_id": election_id,
        "report_id": report_id,
        "reason": problems[0]["code"],
        "problems": [dict(p) for p in problems],
        "sender": dict(sender) if sender is not None else None,
        "key": key.decode(errors="replace") if key is not None else None,
        "payload": payload[:MAX_PAYLOAD_CHARS],
        "payload_truncated": len(payload) > MAX_PAYLOAD_CHARS,
    }
    value = json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    if election_id:
        record_key: bytes | None = election_id.encode()
    elif sender is not None and sender.get("credential_id"):
        record_key = str(sender["credential_id"]).encode()
    else:
        record_key = key
    return record_key, value.encode("ascii")
