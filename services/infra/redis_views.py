"""Redis as the views store (the model: `votewire.infra.views`).

Layout (prefix P = VOTEWIRE_REDIS_PREFIX, channel C such as "race:kz-2021:r001"):

- `P:view:C`   hash {version, seq, doc}: the newest view of C and its feed position.
- `P:feed:C`   stream of C's changes, entry id "<seq>-1", field `change`,
               capped (`XADD MAXLEN ~ feed_maxlen`: at least that many kept).
- `P:epoch`    an id that changes whenever the views are lost and rebuilt.
- pub/sub `P:chan:C` carries each change the moment it is written.

A change, in the feed and on pub/sub, is the store's own record, not a
client frame (the live service frames views for its clients):
`b"<channel> <seq> <epoch> <version>\\n" + doc` (`encode_change`,
`decode_change`). Feed entries written before this layout (field `msg`)
cannot be replayed: `updates_since` answers None for them, so a client
resuming across the upgrade gets a resync snapshot, never a wrong frame.

Contract of `put_view` (one atomic Lua script, the rule `views.replaces`):
it replaces the stored view only if `version` is greater than the stored
version (replays and re-deliveries can never move a number backwards), or
if both are 0 and the documents differ (an election's opening, rewritten
from a corrected definition before any report); on a write the channel's
`seq` grows by exactly one, the change is appended to the feed and
published. A skipped write changes nothing.

Errors: the reads and the change feed raise `ViewsUnavailable` when Redis
fails; the writes (`put_view`, `put_views`) let redis-py's errors through
to the writers, which keep their views and retry (aggregate/flusher.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from votewire.infra.views import (
    CHANNEL_RE,
    BadChannel,
    StoredView,
    ViewsUnavailable,
    check_channel,
)

__all__ = [
    "CHANNEL_RE",
    "BadChannel",
    "RedisViews",
    "StoredView",
    "ViewsUnavailable",
    "check_channel",
    "decode_change",
    "encode_change",
]

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_S = 10.0
"""How long `changes` waits for Redis to confirm the subscription."""

_PUT_VIEW = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local v = tonumber(ARGV[1])
if cur > v then return {0, cur} end
if cur == v and (v ~= 0 or redis.call('HGET', KEYS[1], 'doc') == ARGV[2]) then
  return {0, cur}
end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'doc', ARGV[2])
local change = ARGV[3] .. ' ' .. seq .. ' ' .. epoch .. ' ' .. ARGV[1] .. '\\n' .. ARGV[2]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], seq .. '-1', 'change', change)
redis.call('PUBLISH', ARGV[4], change)
return {1, seq}
"""
"""KEYS: view, feed, epoch. ARGV: version, doc, channel, pub/sub channel, feed cap,
a fresh epoch in case there is none. Builds the change exactly as `encode_change`."""

_GLOB = re.compile(rb"([*?\[\]\\])")


def encode_change(view: StoredView) -> bytes:
    """The change record of `view`, as the put script writes it."""
    head = b"%s %d %s %d\n" % (view.channel.encode(), view.seq, view.epoch.encode(), view.version)
    return head + view.doc


def decode_change(data: bytes) -> StoredView:
    """The `StoredView` a change record carries; ValueError if `data` is not one."""
    head, newline, doc = data.partition(b"\n")
    parts = head.split(b" ")
    if not newline or len(parts) != 4:
        raise ValueError("not a change record")
    channel = parts[0].decode()
    if not CHANNEL_RE.match(channel):
        raise ValueError(f"not a change record: channel {channel!r}")
    return StoredView(channel, int(parts[3]), int(parts[1]), parts[2].decode(), doc)


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    """Redis failures inside as `ViewsUnavailable`."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ViewsUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


class RedisViews:
    """Reads and writes views; one instance per process, safe for concurrent use."""

    def __init__(self, client: aioredis.Redis, prefix: str, feed_maxlen: int = 1000) -> None:
        self.client = client
        self.prefix = prefix
        self.feed_maxlen = feed_maxlen
        self.undecodable = 0
        """Pub/sub messages that were not change records (dropped, logged)."""
        self._put = client.register_script(_PUT_VIEW)

    def view_key(self, channel: str) -> str:
        return f"{self.prefix}:view:{channel}"

    def rows_key(self, table: str) -> str:
        return f"{self.prefix}:rows:{table}"

    async def put_rows(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Store each (table, key, row), pipelined in one round trip; a row replaces the
        row of its key (tables are Redis hashes; a table is named like a channel)."""
        if not items:
            return
        for table, _, _ in items:
            check_channel(table)
        with _answering():
            async with self.client.pipeline(transaction=False) as pipe:
                for table, key, row in items:
                    pipe.hset(self.rows_key(table), key, row)
                await pipe.execute()

    async def rows(self, table: str, cursor: int = 0, count: int = 500) -> tuple[int, list[bytes]]:
        """One page of `table`'s rows, in no order: (next cursor, 0 at the end; rows).
        A page holds about `count` rows (Redis HSCAN: every row present during the whole
        scan is returned at least once; a client dedupes by key)."""
        check_channel(table)
        with _answering():
            nxt, found = await self.client.hscan(self.rows_key(table), cursor, count=count)
        return int(nxt), list(found.values())

    def feed_key(self, channel: str) -> str:
        return f"{self.prefix}:feed:{channel}"

    def pubsub_channel(self, channel: str) -> str:
        return f"{self.prefix}:chan:{channel}"

    @property
    def pubsub_pattern(self) -> str:
        return f"{self.prefix}:chan:*"

    @property
    def epoch_key(self) -> str:
        return f"{self.prefix}:epoch"

    # --- writes ------------------------------------------------------------------------

    async def put_view(self, channel: str, version: int, doc: bytes) -> int | None:
        """Store `doc` if it replaces the stored view (`views.replaces`); return the new
        seq, or None if skipped."""
        check_channel(channel)
        keys, args = self._put_call(channel, version, doc)
        written, seq = await self._put(keys=keys, args=args)
        return int(seq) if written else None

    def _put_call(
        self, channel: str, version: int, doc: bytes
    ) -> tuple[list[str], list[str | int | bytes]]:
        """KEYS and ARGV of the conditional-write script for one view."""
        keys = [self.view_key(channel), self.feed_key(channel), self.epoch_key]
        args: list[str | int | bytes] = [
            version,
            doc,
            channel,
            self.pubsub_channel(channel),
            self.feed_maxlen,
            secrets.token_hex(6),
        ]
        return keys, args

    async def put_views(self, items: Sequence[tuple[str, int, bytes]]) -> list[int | None]:
        """`put_view` for each (channel, version, doc), pipelined in one round trip.

        Each write is its own atomic conditional script run (the batch is not a
        transaction). Raises `BadChannel` before sending anything if a channel
        is malformed; a Redis error raises after the pipeline ran (writes
        before it may have been applied, which the version check makes safe
        to retry)."""
        for channel, _, _ in items:
            check_channel(channel)
        async with self.client.pipeline(transaction=False) as pipe:
            for channel, version, doc in items:
                keys, args = self._put_call(channel, version, doc)
                await self._put(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return [int(seq) if written else None for written, seq in replies]

    # --- reads -------------------------------------------------------------------------

    async def get_view(self, channel: str) -> StoredView | None:
        """The stored view of `channel`, or None if it has none."""
        return (await self.get_views([channel])).get(channel)

    async def get_views(self, channels: Sequence[str]) -> dict[str, StoredView]:
        """The stored views of those `channels` that have one, read atomically in one
        round trip (all at one epoch)."""
        for channel in channels:
            check_channel(channel)
        if not channels:
            return {}
        with _answering():
            async with self.client.pipeline(transaction=True) as pipe:
                for channel in channels:
                    pipe.hmget(self.view_key(channel), ["version", "seq", "doc"])
                pipe.get(self.epoch_key)
                *rows, epoch = await pipe.execute()
        text = (epoch or b"").decode()
        return {
            channel: StoredView(channel, int(version), int(seq), text, doc)
            for channel, (version, seq, doc) in zip(channels, rows, strict=True)
            if doc is not None
        }

    async def versions(self, channels: Sequence[str]) -> dict[str, int]:
        """The stored version per channel, for the channels that hold a view (one round trip)."""
        if not channels:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.hget(self.view_key(check_channel(channel)), "version")
            found = await pipe.execute()
        return {c: int(v) for c, v in zip(channels, found, strict=True) if v is not None}

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None:
        """The changes of `channel` after `seq`, oldest first; None if the feed no longer
        reaches back to `seq + 1` (trimmed, lost, or written by an older layout)."""
        check_channel(channel)
        with _answering():
            entries = await self.client.xrange(self.feed_key(channel), min=f"{seq + 1}-0")
            found: list[StoredView] = []
            for _, fields in entries:
                raw = fields.get(b"change")
                if raw is None:
                    return None  # an entry of the pre-`change` layout: resync instead
                found.append(decode_change(raw))
            if found and found[0].seq != seq + 1:
                return None
            if not found:
                newest = await self.client.hget(self.view_key(channel), "seq")  # type: ignore[misc]
                if newest is not None and int(newest) > seq:
                    return None  # the feed was trimmed past what the client saw
        return found

    async def channels(self, prefix: str) -> list[str]:
        """Channels with a stored view whose name starts with `prefix` (taken literally),
        sorted. Walks the keyspace with SCAN (never KEYS), so Redis is not blocked."""
        head = f"{self.prefix}:view:".encode()
        match = _GLOB.sub(rb"\\\1", head + prefix.encode()) + b"*"
        with _answering():
            found = {key[len(head) :].decode() async for key in self._scan(match)}
        return sorted(found)

    def _scan(self, match: bytes) -> AsyncIterator[bytes]:
        return self.client.scan_iter(match=match, count=2000)

    # --- the change feed ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncIterator[StoredView]]:
        """Subscribe to every channel's changes; yields their iterator once Redis has
        confirmed the subscription (a change written after that is delivered).

        Pub/sub is fire-and-forget: changes written while the subscription is down
        are not delivered; the iterator raises `ViewsUnavailable` when the connection
        is lost, and the caller re-subscribes and re-reads what it needs."""
        with _answering():
            async with self.client.pubsub() as pubsub:
                await pubsub.psubscribe(self.pubsub_pattern)
                await _confirmed(pubsub)
                yield self._decoded(pubsub)

    async def _decoded(self, pubsub: Any) -> AsyncIterator[StoredView]:
        with _answering():
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                try:
                    change = decode_change(message["data"])
                except (ValueError, UnicodeDecodeError):
                    self.undecodable += 1
                    log.error("ignoring a message that is not a change: %.200r", message)
                    continue
                yield change


async def _confirmed(pubsub: Any) -> None:
    """Wait for Redis's confirmation of the pattern subscription."""
    async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "psubscribe":
                return
