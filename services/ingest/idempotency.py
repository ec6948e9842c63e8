"""Which report_ids were already accepted, and with what content.

Contract (see docs/ingest.md, "Idempotency"):

- A report's identity is (election_id, report_id); its content is the SHA-256
  of its canonical encoding (`report_to_bytes`), so the same report sent with
  other whitespace, key order or omitted zero votes is the same content.
- The same id with the same content again is a duplicate: answered as
  accepted, not published again. The same id with other content is a
  conflict: refused (`report_id_conflict`).
- An id is recorded only AFTER Kafka acknowledged the report. A crash (or a
  Redis failure) between the acknowledgement and the record can therefore
  only let a retry publish the report a second time, a harmless duplicate
  (the tally keeps one report per slot and revision); it can never lose a
  report that was answered as accepted.
- Window: two requests carrying the same id that are in flight at the same
  time both see "new" and both publish. Recording uses set-if-absent, so the
  first acknowledged content wins the record; if the other had different
  content it is already on the topic, and `record` returns it as a race
  (counted and logged by the caller).

Stores: `RedisSeenStore` (shared by every ingest process; one hash per
election, `<prefix>:ingest:seen:<election_id>`, field report_id -> hex
digest; recording is one atomic script per election and batch) and
`MemorySeenStore` (tests and single-process tools). Both raise
`SeenStoreError` when the store cannot answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from votewire.core.codec import report_to_bytes
from votewire.core.models import Report


class SeenStoreError(Exception):
    """The store did not answer; the caller must not guess."""


def content_digest(report: Report) -> str:
    """Hex SHA-256 of the report's canonical encoding."""
    return hashlib.sha256(report_to_bytes(report)).hexdigest()


class SeenStore(Protocol):
    async def lookup(self, election_id: str, report_ids: Sequence[str]) -> dict[str, str]:
        """The recorded digest of each of `report_ids` that has one."""
        ...

    async def record(self, election_id: str, digests: Mapping[str, str]) -> list[str]:
        """Record report_id -> digest where absent; return the ids whose existing
        record differs (a lost race, see the module docstring)."""
        ...


class MemorySeenStore:
    """`SeenStore` in a dict; for tests and single-process tools."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    async def lookup(self, election_id: str, report_ids: Sequence[str]) -> dict[str, str]:
        found = ((rid, self.seen.get((election_id, rid))) for rid in report_ids)
        return {rid: digest for rid, digest in found if digest is not None}

    async def record(self, election_id: str, digests: Mapping[str, str]) -> list[str]:
        lost = []
        for rid, digest in digests.items():
            existing = self.seen.setdefault((election_id, rid), digest)
            if existing != digest:
                lost.append(rid)
        return lost


_RECORD = """
local lost = {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 0 then
    if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then
      table.insert(lost, ARGV[i])
    end
  end
end
return lost
"""
"""Set-if-absent for every (report_id, digest) pair of one election, atomically, in
one round trip; returns the ids already recorded with another digest."""


class RedisSeenStore:
    """`SeenStore` on Redis: HMGET to look up; a Lua script of HSETNX to record."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._record = client.register_script(_RECORD)

    def key(self, election_id: str) -> str:
        return f"{self.prefix}:ingest:seen:{election_id}"

    async def lookup(self, election_id: str, report_ids: Sequence[str]) -> dict[str, str]:
        if not report_ids:
            return {}
        try:
            values = await self.client.hmget(self.key(election_id), list(report_ids))  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            raise SeenStoreError(f"redis: {type(exc).__name__}") from exc
        return {
            rid: value.decode() if isinstance(value, bytes) else str(value)
            for rid, value in zip(report_ids, values, strict=True)
            if value is not None
        }

    async def record(self, election_id: str, digests: Mapping[str, str]) -> list[str]:
        if not digests:
            return []
        args = [part for pair in digests.items() for part in pair]
        try:
            lost = await self._record(keys=[self.key(election_id)], args=args)
        except (RedisError, OSError) as exc:
            raise SeenStoreError(f"redis: {type(exc).__name__}") from exc
        return [rid.decode() if isinstance(rid, bytes) else str(rid) for rid in lost]
