"""Each election's anomaly feed: append-only, one entry per anomaly id, capped, live.

The feed of election E is the views-store channel `anomalies:E`, written in
the store's own layout (infra/redis_views.py, prefix P), so the live service
serves it with its ordinary machinery (snapshot, seq, epoch, resume, pub/sub):

- `P:view:anomalies:E`  hash {version, seq, doc}: the newest anomaly (version = seq);
- `P:feed:anomalies:E`  stream, entry "<seq>-1" field `change` (the store's change
  record): the feed itself, capped at `max_len` (`XADD MAXLEN ~`: at least
  that many kept, the oldest trimmed first);
- `P:anomaly:E:<anomaly_id>`  the seq that anomaly got: its dedupe mark. One
  small key per anomaly, so no single Redis value grows with the night
  (the stream is capped).

Contract of `append(anomaly)` (one atomic Lua script per anomaly): if its
`anomaly_id` has a mark, nothing changes and the existing seq is returned
with `added` False; otherwise the channel's seq grows by exactly one, the
anomaly is stored with `"seq"` as its first key (`{"seq":n,...}`: the
document is `codec.dumps` of the anomaly with seq put in front), appended to
the feed and published. So a re-fold that raises every flag again, or a
re-delivered dead letter, never shows twice. `append_many` pipelines
appends in order (each its own script run).

Reads: `page(election_id, before=, after=, limit=)` -> `AnomalyPage`:
without a cursor the newest `limit` anomalies, newest first; `before=s`
those with seq < s, newest first; `after=s` those with seq > s, oldest
first; `total` is the newest seq (anomalies ever appended, trimmed ones
included). Errors: reads raise `ViewsUnavailable` when Redis fails; appends
let redis-py's errors through (the writer retries, `anomaly_writer.py`).

`MemoryAnomalyFeed` behaves the same (checked by one contract suite,
tests/integration/test_anomaly_feed.py), writing its channel into a
`MemoryViews` when given one, and keeps exactly `max_len` entries.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from votewire.core.channels import anomalies_channel
from votewire.core.codec import dumps
from votewire.infra.memory_views import MemoryViews
from votewire.infra.redis_views import RedisViews, decode_change
from votewire.infra.views import ViewsUnavailable, check_channel

MAX_LEN = 10_000
"""Anomalies kept per election (a night with 5 % faulty reports of 14,000 has ~700)."""
MAX_PAGE = 500

_APPEND = """
local known = redis.call('GET', KEYS[4])
if known then return {0, tonumber(known)} end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local doc = '{"seq":' .. seq .. ',' .. ARGV[1]
redis.call('HSET', KEYS[1], 'version', seq, 'doc', doc)
redis.call('SET', KEYS[4], seq)
local change = ARGV[2] .. ' ' .. seq .. ' ' .. epoch .. ' ' .. seq .. '\\n' .. doc
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-1', 'change', change)
redis.call('PUBLISH', ARGV[3], change)
return {1, seq}
"""
"""KEYS: view, feed, epoch, mark. ARGV: the document after its opening brace, channel,
pub/sub channel, feed cap, a fresh epoch in case there is none. The change record is
built exactly as `redis_views.encode_change` builds it."""


class Appended(NamedTuple):
    added: bool
    seq: int


class AnomalyPage(NamedTuple):
    """Stored anomaly documents (JSON bytes, each with its `seq`) and the newest seq."""

    total: int
    """The newest seq: anomalies ever appended, trimmed ones included."""
    items: list[bytes]


class AnomalyFeed(Protocol):
    async def append_many(self, anomalies: Sequence[Mapping[str, Any]]) -> list[Appended]: ...

    async def page(
        self, election_id: str, *, before: int | None = None, after: int | None = None,
        limit: int = 100,
    ) -> AnomalyPage: ...  # fmt: skip


def _tail(anomaly: Mapping[str, Any]) -> tuple[str, bytes]:
    """(channel, the document after its opening brace); `BadChannel` for a bad election."""
    channel = check_channel(anomalies_channel(str(anomaly["election_id"])))
    if "anomaly_id" not in anomaly or "seq" in anomaly:
        raise ValueError("an anomaly has an anomaly_id and no seq")
    return channel, dumps(dict(anomaly))[1:]


def _limit(limit: int) -> int:
    return max(1, min(MAX_PAGE, limit))


class RedisAnomalyFeed:
    """`AnomalyFeed` on the views store's Redis layout (see the module doc)."""

    def __init__(self, views: RedisViews, max_len: int = MAX_LEN) -> None:
        self.views = views
        self.client: aioredis.Redis = views.client
        self.max_len = max_len
        self._append = self.client.register_script(_APPEND)

    def mark_key(self, election_id: str, anomaly_id: str) -> str:
        return f"{self.views.prefix}:anomaly:{election_id}:{anomaly_id}"

    def _call(self, anomaly: Mapping[str, Any]) -> tuple[list[str], list[str | int | bytes]]:
        channel, tail = _tail(anomaly)
        views = self.views
        keys = [
            views.view_key(channel),
            views.feed_key(channel),
            views.epoch_key,
            self.mark_key(str(anomaly["election_id"]), str(anomaly["anomaly_id"])),
        ]
        args: list[str | int | bytes] = [
            tail, channel, views.pubsub_channel(channel), self.max_len, secrets.token_hex(6),
        ]  # fmt: skip
        return keys, args

    async def append(self, anomaly: Mapping[str, Any]) -> Appended:
        keys, args = self._call(anomaly)
        added, seq = await self._append(keys=keys, args=args)
        return Appended(bool(added), int(seq))

    async def append_many(self, anomalies: Sequence[Mapping[str, Any]]) -> list[Appended]:
        calls = [self._call(a) for a in anomalies]  # bad input raises before anything is sent
        if not calls:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await self._append(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return [Appended(bool(added), int(seq)) for added, seq in replies]

    async def page(
        self, election_id: str, *, before: int | None = None, after: int | None = None,
        limit: int = 100,
    ) -> AnomalyPage:  # fmt: skip
        channel = check_channel(anomalies_channel(election_id))
        feed, count = self.views.feed_key(channel), _limit(limit)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hget(self.views.view_key(channel), "seq")
                if after is not None:
                    pipe.xrange(feed, min=f"{max(0, after) + 1}-0", count=count)
                elif before is not None:
                    pipe.xrevrange(feed, max=f"{max(0, before - 1)}-1", count=count)
                else:
                    pipe.xrevrange(feed, count=count)
                newest, entries = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise ViewsUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc
        items = [decode_change(fields[b"change"]).doc for _, fields in entries]
        return AnomalyPage(int(newest or 0), items)


class MemoryAnomalyFeed:
    """`AnomalyFeed` in memory (see the module doc); one event loop."""

    def __init__(self, views: MemoryViews | None = None, max_len: int = MAX_LEN) -> None:
        self.views = views
        self.max_len = max_len
        self.available = True
        self._marks: dict[tuple[str, str], int] = {}
        self._feeds: dict[str, deque[tuple[int, bytes]]] = {}
        self._seqs: dict[str, int] = {}

    async def append_many(self, anomalies: Sequence[Mapping[str, Any]]) -> list[Appended]:
        for anomaly in anomalies:
            _tail(anomaly)
        if not self.available:
            raise ConnectionError("the memory anomaly feed is down")
        return [await self._append(a) for a in anomalies]

    async def _append(self, anomaly: Mapping[str, Any]) -> Appended:
        channel, tail = _tail(anomaly)
        election_id = str(anomaly["election_id"])
        mark = (election_id, str(anomaly["anomaly_id"]))
        if mark in self._marks:
            return Appended(False, self._marks[mark])
        seq = self._seqs.get(election_id, 0) + 1
        self._seqs[election_id] = self._marks[mark] = seq
        doc = b'{"seq":%d,%b' % (seq, tail)
        feed = self._feeds.setdefault(election_id, deque(maxlen=self.max_len))
        feed.append((seq, doc))
        if self.views is not None:
            await self.views.put_view(channel, seq, doc)
        return Appended(True, seq)

    async def page(
        self, election_id: str, *, before: int | None = None, after: int | None = None,
        limit: int = 100,
    ) -> AnomalyPage:  # fmt: skip
        check_channel(anomalies_channel(election_id))
        if not self.available:
            raise ViewsUnavailable("the memory anomaly feed is down")
        feed, count = list(self._feeds.get(election_id, ())), _limit(limit)
        if after is not None:
            items = [doc for seq, doc in feed if seq > after][:count]
        else:
            items = [doc for seq, doc in reversed(feed) if before is None or seq < before][:count]
        return AnomalyPage(self._seqs.get(election_id, 0), items)
