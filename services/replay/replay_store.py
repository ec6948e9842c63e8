"""A replay's own Redis namespace, apart from the live views.

`votewire replay --namespace NAME` writes under the key prefix
`<VOTEWIRE_REDIS_PREFIX>-replay-<NAME>` (`namespace_prefix`): the same
layout as the live views (`P:view:C`, `P:feed:C`, `P:epoch`, via
`RedisViews`), so the live service or an audit can read it, but no key in
common with the live prefix `P:` (the separator after the prefix is ":", and
the namespace prefix never equals the live one).

A replay *replaces* its namespace: `clear` deletes every key under
`<namespace prefix>:` first (so an earlier, later-cut replay cannot keep
higher versions that the conditional write would refuse to replace), a new
epoch follows, and `write` stores every view. `P:meta:replay` holds what the
replay covered (JSON). Nothing here ever touches a key outside the namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from votewire.core.codec import dumps, loads
from votewire.infra.redis_views import RedisViews

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
WRITE_BATCH = 500


class BadNamespace(ValueError):
    """A namespace name outside [A-Za-z0-9_.-]{1,64}, or one that would hit the live views."""


def namespace_prefix(redis_prefix: str, name: str) -> str:
    """The key prefix of replay namespace `name`."""
    if not NAME_RE.match(name):
        raise BadNamespace(f"namespace must match {NAME_RE.pattern}, got {name!r}")
    return f"{redis_prefix}-replay-{name}"


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class ReplayNamespace:
    """The keys of one replay namespace."""

    def __init__(self, client: aioredis.Redis, prefix: str, live_prefix: str) -> None:
        if prefix == live_prefix:
            raise BadNamespace(f"replay prefix {prefix!r} is the live prefix")
        self.client = client
        self.prefix = prefix
        self.views = RedisViews(client, prefix)

    @property
    def meta_key(self) -> str:
        return f"{self.prefix}:meta:replay"

    async def clear(self) -> int:
        """Delete every key of the namespace; returns how many."""
        deleted = 0
        pattern = f"{_glob_escape(self.prefix)}:*"
        batch: list[bytes] = []
        async for key in self.client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await self.client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self.client.unlink(*batch)
        return deleted

    async def write(self, items: Sequence[tuple[str, int, bytes]]) -> int:
        """Store every (channel, version, doc); returns how many were written."""
        written = 0
        for i in range(0, len(items), WRITE_BATCH):
            seqs = await self.views.put_views(items[i : i + WRITE_BATCH])
            written += sum(1 for s in seqs if s is not None)
        return written

    async def put_meta(self, meta: dict[str, Any]) -> None:
        await self.client.set(self.meta_key, dumps(meta))

    async def get_meta(self) -> dict[str, Any] | None:
        raw = await self.client.get(self.meta_key)
        return None if raw is None else dict(loads(raw))
