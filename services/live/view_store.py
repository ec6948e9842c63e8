"""What the live service needs of the views store: its one port.

Implemented by `votewire.infra.redis_views.RedisViews` (production) and
`votewire.infra.memory_views.MemoryViews` (unit tests); the model and the
contract of both are in `votewire.infra.views`, checked against both by
tests/integration/test_view_store.py. Every method may raise
`ViewsUnavailable` (the store did not answer), and those taking a channel
raise `BadChannel` for a name outside the grammar. The store hands out
views as stored; the live service alone frames them for clients
(protocol.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from votewire.infra.views import BadChannel, StoredView, ViewsUnavailable

__all__ = ["BadChannel", "StoredView", "ViewStore", "ViewsUnavailable"]


class ViewStore(Protocol):
    async def get_view(self, channel: str) -> StoredView | None:
        """The stored view of `channel`, or None if nothing was published on it."""
        ...

    async def get_views(self, channels: Sequence[str]) -> dict[str, StoredView]:
        """The stored views of those `channels` that have one, all at one epoch."""
        ...

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None:
        """Every change of `channel` after `seq`, oldest first ([] if none); None when
        the feed no longer reaches back to `seq + 1` (the caller resyncs)."""
        ...

    async def rows(self, table: str, cursor: int = 0, count: int = 500) -> tuple[int, list[bytes]]:
        """One page of a rows table (precinct results: `core.precinct_rows`): (next cursor,
        0 at the end; rows). Every row present during the whole scan comes at least once."""
        ...

    async def channels(self, prefix: str) -> list[str]:
        """Channels with a view whose name starts with `prefix` (literally), sorted."""
        ...

    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[StoredView]]:
        """A subscription to every channel's changes: entered once it is active, then
        iterated; each channel's changes come in seq order. The iterator raises
        `ViewsUnavailable` when the subscription is lost (changes meanwhile are not
        delivered: re-subscribe, then re-read what you serve)."""
        ...
