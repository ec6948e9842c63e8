"""An election's retirement: one small record on the definitions topic.

Retiring an election (`votewire election retire ID`, ingest's
`POST /v1/elections/{id}/retirement`) hides it from readers' listings and
makes ingest refuse new reports for it (`election_retired`); its definition
and every view stay, for audit. The record sits beside the definition on the
compacted definitions topic, so every process that follows that topic (the
`DefinitionCatalog` of ingest and of the aggregate) learns it, and it
survives restarts and compaction:

- key `"<election_id>#retired"`: `#` is outside the election-id grammar
  (`definition_decoder.CHANNEL_ID`), so the key can never be an election's
  header key, and it holds no `@`, so it is never a part key;
- value `{"kind": "retirement", "election_id", "retired_at", "retired_by"}`
  (`retired_at`: RFC 3339 UTC, the ingest clock; `retired_by`: the
  credential id): retired;
- a tombstone (null value) of that key: un-retired (`DELETE` of the same
  resource), the election is listed and takes reports again.

Compaction keeps the newest record of the key, so a reader that starts late
sees the same state as one that followed every record. A retirement does
not depend on the definition: it stays when the definition is replaced, and
names an election whose definition was removed without harm.

Pure: bytes in and out, no clock (callers pass times).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from votewire.core.codec import dumps

__all__ = [
    "KIND",
    "Retired",
    "Unretired",
    "decode_retirement",
    "is_retirement_key",
    "retirement_key",
    "retirement_value",
]

KIND = "retirement"
SUFFIX = b"#retired"


@dataclass(frozen=True, slots=True)
class Retired:
    """The election is retired (since `retired_at`, by `retired_by`)."""

    election_id: str
    retired_at: str
    retired_by: str

    def to_dict(self) -> dict[str, str]:
        return {
            "election_id": self.election_id,
            "retired_at": self.retired_at,
            "retired_by": self.retired_by,
        }


@dataclass(frozen=True, slots=True)
class Unretired:
    """The election's retirement was withdrawn (its record tombstoned)."""

    election_id: str


def retirement_key(election_id: str) -> bytes:
    return election_id.encode() + SUFFIX


def is_retirement_key(key: bytes) -> bool:
    return key.endswith(SUFFIX) and len(key) > len(SUFFIX)


def retirement_value(retired: Retired) -> bytes:
    return dumps({"kind": KIND, **retired.to_dict()})


def decode_retirement(key: bytes, value: bytes | None) -> Retired | Unretired | str:
    """What a record of a retirement key says; a string (why not) if it says nothing
    usable (not JSON, another kind, fields missing, a key that names another election)."""
    election_id = key[: -len(SUFFIX)].decode(errors="replace")
    if value is None:
        return Unretired(election_id)
    try:
        obj = json.loads(value)
    except ValueError:
        return "retirement value is not JSON"
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        return "retirement key without a retirement value"
    at, by = obj.get("retired_at"), obj.get("retired_by")
    if obj.get("election_id") != election_id:
        return "retirement names another election than its key"
    if not isinstance(at, str) or not isinstance(by, str):
        return "retirement lacks retired_at or retired_by"
    return Retired(election_id, at, by)
