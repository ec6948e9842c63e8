"""One connection's outgoing frames: conflated updates plus a bounded reply queue.

Two kinds of frames wait here for the connection's writer (`take`):

- *updates* from the hub, at most one per channel: a newer update of a
  channel replaces the pending one (conflation; views are whole documents,
  so the newest supersedes the rest and a skipped seq loses nothing);
- *replies* to the client's own requests (snapshots, replayed updates,
  acknowledgements, pongs, errors), in FIFO order, bounded by
  `max_reply_bytes`; `put_reply` raises `QueueFull` past it.

Memory per connection is thus bounded: one pending update per channel (the
bytes object is shared with every other subscriber) plus the reply budget.

Ordering contract, per channel: a client never receives a seq at or below
one it was sent, within an epoch. `position` is the (epoch, seq) last sent
or queued as a reply; updates at or below it are dropped. A frame of another
epoch always passes (the views were rebuilt; the client must replace its
state). While a channel is *held* (a subscribe is reading its snapshot),
its pending update waits, so the snapshot always goes out first.

Direct writes (direct.py): given a `direct` writer, `put` hands an update's
pre-framed bytes to it at once, skipping the queue and the writer's wake-up,
but only while the writer is parked in `take` with nothing in hand, no reply
is queued, and the channel is neither held nor pending. Then nothing sent or
queued earlier can be overtaken, and the ordering contract above holds.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

Position = tuple[str, int]
"""(epoch, seq) of a channel as the client knows it."""


class QueueFull(Exception):
    """The reply queue would exceed its byte budget: the client is not reading."""


DirectWriter = Callable[[bytes], bool]
"""Writes a whole websocket frame now and returns True, or returns False."""


class Mailbox:
    def __init__(
        self, max_reply_bytes: int = 4 * 1024 * 1024, direct: DirectWriter | None = None
    ) -> None:
        self.max_reply_bytes = max_reply_bytes
        self.position: dict[str, Position] = {}
        self.conflated = 0
        self._direct = direct
        self._idle = False
        """The writer waits in `take` with nothing in hand."""
        self._pending: dict[str, tuple[str, int, bytes]] = {}
        self._replies: deque[bytes] = deque()
        self._reply_bytes = 0
        self._held: set[str] = set()
        self._ready = asyncio.Event()

    def _is_new(self, channel: str, epoch: str, seq: int) -> bool:
        known = self.position.get(channel)
        return known is None or known[0] != epoch or seq > known[1]

    def put(
        self, channel: str, epoch: str, seq: int, frame: bytes, wire: bytes | None = None
    ) -> bool:
        """Queue an update (never blocks); superseded or already-seen ones are dropped.
        `wire`: the same update as a websocket frame, for a direct write if one may go.
        True: it was written directly."""
        if not self._is_new(channel, epoch, seq):
            return False
        if (
            wire is not None
            and self._idle
            and self._direct is not None
            and not self._replies
            and channel not in self._pending
            and channel not in self._held
            and self._direct(wire)
        ):
            self.position[channel] = (epoch, seq)
            return True
        held = self._pending.get(channel)
        if held is not None:
            if held[0] == epoch and held[1] >= seq:
                return False
            self.conflated += 1
        self._pending[channel] = (epoch, seq, frame)
        if channel not in self._held:
            self._ready.set()
        return False

    def reply_room(self) -> int:
        """Bytes of replies that can still be queued."""
        return self.max_reply_bytes - self._reply_bytes

    def put_reply(self, frame: bytes) -> None:
        """Queue a reply; QueueFull if the budget is spent (one reply always fits)."""
        if self._reply_bytes and self._reply_bytes + len(frame) > self.max_reply_bytes:
            raise QueueFull(f"{self._reply_bytes} bytes of replies unsent")
        self._replies.append(frame)
        self._reply_bytes += len(frame)
        self._ready.set()

    def mark_sent(self, channel: str, epoch: str, seq: int) -> None:
        """The client has (epoch, seq) of `channel` through a reply; drop what it supersedes."""
        self.position[channel] = (epoch, seq)
        held = self._pending.get(channel)
        if held is not None and held[0] == epoch and held[1] <= seq:
            del self._pending[channel]

    def hold(self, channel: str) -> None:
        self._held.add(channel)

    def release(self, channel: str) -> None:
        self._held.discard(channel)
        if channel in self._pending:
            self._ready.set()

    def forget(self, channel: str) -> None:
        self._pending.pop(channel, None)
        self.position.pop(channel, None)
        self._held.discard(channel)

    async def take(self) -> list[bytes]:
        """Wait for frames; return the replies, then the pending updates not held.
        The caller sends them all before it calls again (direct writes wait till then)."""
        self._idle = True
        try:
            await self._ready.wait()
        finally:
            self._idle = False
        self._ready.clear()
        frames = list(self._replies)
        self._replies.clear()
        self._reply_bytes = 0
        for channel in [c for c in self._pending if c not in self._held]:
            epoch, seq, frame = self._pending.pop(channel)
            if self._is_new(channel, epoch, seq):
                frames.append(frame)
                self.position[channel] = (epoch, seq)
        return frames
