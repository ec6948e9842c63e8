"""Redis as the serving view: versioned documents plus a change feed per channel.

Layout (prefix P = VOTEWIRE_REDIS_PREFIX, channel C such as "race:kz-2021:r001"):

- `P:view:C`   hash {version, seq, doc}: the newest view of C and its feed position.
- `P:feed:C`   stream of update messages, entry id "<seq>-1", capped (~`feed_maxlen`).
- `P:epoch`    an id that changes whenever the views are lost and rebuilt.
- pub/sub `P:chan:C` carries each update message the moment it is written.

Contract of `put_view` (one atomic Lua script):
- it replaces the stored view only if `version` is greater than the stored
  version: replays and re-deliveries can never move a number backwards;
- on a write, the channel's `seq` grows by exactly one, the update message is
  appended to the feed and published. A skipped write changes nothing.
- the update message is built once, here, and delivered verbatim by the live
  service to every subscriber:
  {"type":"update","channel":C,"seq":n,"epoch":E,"version":v,"view":{...}}.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

CHANNEL_RE = re.compile(r"^[a-z]+(?::[A-Za-z0-9_.\-]{1,128}){1,3}$")

_PUT_VIEW = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local v = tonumber(ARGV[1])
if cur >= v then return {0, cur} end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'doc', ARGV[2])
local msg = '{"type":"update","channel":"' .. ARGV[3] .. '","seq":' .. seq ..
  ',"epoch":"' .. epoch .. '","version":' .. ARGV[1] .. ',"view":' .. ARGV[2] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], seq .. '-1', 'msg', msg)
redis.call('PUBLISH', ARGV[4], msg)
return {1, seq}
"""


class BadChannel(ValueError):
    """A channel name outside the documented grammar."""


def check_channel(channel: str) -> str:
    if not CHANNEL_RE.match(channel):
        raise BadChannel(f"not a channel name: {channel!r}")
    return channel


@dataclass(frozen=True, slots=True)
class StoredView:
    channel: str
    version: int
    seq: int
    epoch: str
    doc: bytes
    """The view as stored: a JSON document, UTF-8."""

    def snapshot_message(self, *, resync: bool = False) -> bytes:
        """The snapshot frame a subscriber receives first (or after a gap)."""
        flag = b',"resync":true' if resync else b""
        return (
            b'{"type":"snapshot","channel":"%s","seq":%d,"epoch":"%s","version":%d%s,"view":'
            % (self.channel.encode(), self.seq, self.epoch.encode(), self.version, flag)
            + self.doc
            + b"}"
        )


class RedisViews:
    """Reads and writes views; one instance per process, safe for concurrent use."""

    def __init__(self, client: aioredis.Redis, prefix: str, feed_maxlen: int = 1000) -> None:
        self.client = client
        self.prefix = prefix
        self.feed_maxlen = feed_maxlen
        self._put = client.register_script(_PUT_VIEW)

    def view_key(self, channel: str) -> str:
        return f"{self.prefix}:view:{channel}"

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

    async def put_view(self, channel: str, version: int, doc: bytes) -> int | None:
        """Store `doc` if `version` is newer; return the new seq, or None if skipped."""
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

    async def get_view(self, channel: str) -> StoredView | None:
        check_channel(channel)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hmget(self.view_key(channel), "version", "seq", "doc")
            pipe.get(self.epoch_key)
            (version, seq, doc), epoch = await pipe.execute()
        if doc is None:
            return None
        return StoredView(
            channel=channel,
            version=int(version),
            seq=int(seq),
            epoch=(epoch or b"").decode(),
            doc=doc,
        )

    async def versions(self, channels: Sequence[str]) -> dict[str, int]:
        """The stored version per channel, for the channels that hold a view (one round trip)."""
        if not channels:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.hget(self.view_key(check_channel(channel)), "version")
            found = await pipe.execute()
        return {c: int(v) for c, v in zip(channels, found, strict=True) if v is not None}

    async def updates_since(self, channel: str, seq: int) -> list[tuple[int, bytes]] | None:
        """(seq, message) after `seq`, oldest first; None if the feed no longer reaches back."""
        check_channel(channel)
        entries = await self.client.xrange(self.feed_key(channel), min=f"{seq + 1}-0")
        found = [(int(entry_id.split(b"-")[0]), fields[b"msg"]) for entry_id, fields in entries]
        if found and found[0][0] != seq + 1:
            return None
        if not found:
            newest = await self.client.hget(self.view_key(channel), "seq")
            if newest is not None and int(newest) > seq:
                return None  # the feed was trimmed past what the client saw
        return found
