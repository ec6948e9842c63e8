"""The views store in memory (the model: `votewire.infra.views`), for tests and tools.

Behaves as `RedisViews` does, checked by the same contract suite
(tests/integration/test_view_store.py), with two differences that the
contract allows: the feed keeps exactly the last `feed_maxlen` changes (Redis
keeps at least that many), and changes reach subscribers through in-process
queues. `go_down` / `come_back` make every call fail with `ViewsUnavailable`
and end the open change iterators, as a lost Redis would; `wipe` loses
every view, as a flushed Redis would (the next write makes a new epoch).
Lives on one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import AsyncIterator, Sequence

from votewire.infra.views import StoredView, ViewsUnavailable, check_channel, replaces

_LOST = None
"""Put in a subscriber's queue when the store goes down."""


class MemoryViews:
    """See the module doc."""

    def __init__(self, feed_maxlen: int = 1000) -> None:
        self.feed_maxlen = feed_maxlen
        self.available = True
        self._views: dict[str, StoredView] = {}
        self._seqs: dict[str, int] = {}
        self._feeds: dict[str, deque[StoredView]] = {}
        self._epoch: str | None = None
        self._subscribers: set[asyncio.Queue[StoredView | None]] = set()
        self._rows: dict[str, dict[str, bytes]] = {}

    def _answering(self) -> None:
        if not self.available:
            raise ViewsUnavailable("the memory store is down")

    async def put_rows(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Store each (table, key, row); see `RedisViews.put_rows`."""
        for table, _, _ in items:
            check_channel(table)
        self._answering()
        for table, key, row in items:
            self._rows.setdefault(table, {})[key] = row

    async def rows(self, table: str, cursor: int = 0, count: int = 500) -> tuple[int, list[bytes]]:
        """One page of `table`'s rows; see `RedisViews.rows` (here in key order)."""
        check_channel(table)
        self._answering()
        found = [self._rows.get(table, {})[k] for k in sorted(self._rows.get(table, {}))]
        page = found[cursor : cursor + count]
        nxt = cursor + count if cursor + count < len(found) else 0
        return nxt, page

    async def put_view(self, channel: str, version: int, doc: bytes) -> int | None:
        """Store `doc` if it replaces the stored view (`views.replaces`); return the new
        seq, or None if skipped."""
        check_channel(channel)
        self._answering()
        stored = self._views.get(channel)
        if stored is not None and not replaces(stored.version, stored.doc, version, doc):
            return None
        if self._epoch is None:
            self._epoch = secrets.token_hex(6)
        seq = self._seqs.get(channel, 0) + 1
        self._seqs[channel] = seq
        view = StoredView(channel, version, seq, self._epoch, doc)
        self._views[channel] = view
        feed = self._feeds.get(channel)
        if feed is None:
            feed = self._feeds[channel] = deque(maxlen=self.feed_maxlen)
        feed.append(view)
        for queue in self._subscribers:
            queue.put_nowait(view)
        return seq

    async def put_views(self, items: Sequence[tuple[str, int, bytes]]) -> list[int | None]:
        """`put_view` of each item, in order; `BadChannel` before any write."""
        for channel, _, _ in items:
            check_channel(channel)
        return [await self.put_view(channel, version, doc) for channel, version, doc in items]

    async def get_view(self, channel: str) -> StoredView | None:
        check_channel(channel)
        self._answering()
        return self._views.get(channel)

    async def get_views(self, channels: Sequence[str]) -> dict[str, StoredView]:
        for channel in channels:
            check_channel(channel)
        self._answering()
        return {c: self._views[c] for c in channels if c in self._views}

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None:
        check_channel(channel)
        self._answering()
        found = [view for view in self._feeds.get(channel, ()) if view.seq > seq]
        if found and found[0].seq != seq + 1:
            return None
        if not found and self._seqs.get(channel, 0) > seq:
            return None  # trimmed past what the client saw
        return found

    async def channels(self, prefix: str) -> list[str]:
        self._answering()
        return sorted(c for c in self._views if c.startswith(prefix))

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncIterator[StoredView]]:
        self._answering()
        queue: asyncio.Queue[StoredView | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers.discard(queue)

    def go_down(self) -> None:
        """Fail every call from now on, and end every open change iterator."""
        self.available = False
        for queue in self._subscribers:
            queue.put_nowait(_LOST)

    def come_back(self) -> None:
        self.available = True

    def wipe(self) -> None:
        """Lose every view, feed and the epoch."""
        self._views.clear()
        self._seqs.clear()
        self._feeds.clear()
        self._epoch = None


async def _drain(queue: asyncio.Queue[StoredView | None]) -> AsyncIterator[StoredView]:
    while True:
        view = await queue.get()
        if view is _LOST:
            raise ViewsUnavailable("the memory store went down")
        assert view is not None
        yield view
