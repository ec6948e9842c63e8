"""The hub: channel -> subscribers, fan-out without letting one client stall another.

Each update is delivered as the bytes the aggregate encoded once; the hub never
re-encodes per client. Every subscriber (one websocket connection) has its own
`Mailbox` drained by its own writer task. A mailbox holds at most one pending
message per channel: a newer update of a channel replaces the pending one
(conflation: views are whole documents, so the newest supersedes the rest).
Memory per connection is thus bounded by its number of channels.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class Mailbox:
    """Pending outgoing frames of one connection, conflated per channel.

    `put` never blocks and never grows beyond one entry per channel (plus
    control frames, which are bounded by the caller's own rate of requests).
    `conflated` counts updates that were superseded before being sent.
    """

    def __init__(self) -> None:
        self._pending: dict[str, tuple[int, bytes]] = {}
        self._control: list[bytes] = []
        self._ready = asyncio.Event()
        self.last_sent: dict[str, int] = {}
        self.conflated = 0

    def put(self, channel: str, seq: int, frame: bytes) -> None:
        """Queue an update unless the client already has that seq or a newer one."""
        if seq <= self.last_sent.get(channel, 0):
            return
        held = self._pending.get(channel)
        if held is not None:
            if held[0] >= seq:
                return
            self.conflated += 1
        self._pending[channel] = (seq, frame)
        self._ready.set()

    def put_control(self, frame: bytes) -> None:
        self._control.append(frame)
        self._ready.set()

    def mark_sent(self, channel: str, seq: int) -> None:
        """Record that a snapshot/replayed update up to `seq` went out directly."""
        self.last_sent[channel] = max(seq, self.last_sent.get(channel, 0))
        held = self._pending.get(channel)
        if held is not None and held[0] <= seq:
            del self._pending[channel]

    def forget(self, channel: str) -> None:
        self._pending.pop(channel, None)
        self.last_sent.pop(channel, None)

    async def take(self) -> list[bytes]:
        """Wait for frames; return all pending ones (control first, then by channel)."""
        await self._ready.wait()
        self._ready.clear()
        frames, self._control = self._control, []
        for channel, (seq, frame) in self._pending.items():
            if seq > self.last_sent.get(channel, 0):
                frames.append(frame)
                self.last_sent[channel] = seq
        self._pending.clear()
        return frames


class Hub:
    """Who listens to what. Not thread-safe; lives on one event loop."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Mailbox]] = defaultdict(set)

    def subscribe(self, channel: str, mailbox: Mailbox) -> None:
        self._subscribers[channel].add(mailbox)

    def unsubscribe(self, channel: str, mailbox: Mailbox) -> None:
        subs = self._subscribers.get(channel)
        if subs is not None:
            subs.discard(mailbox)
            if not subs:
                del self._subscribers[channel]
        mailbox.forget(channel)

    def drop(self, mailbox: Mailbox) -> None:
        for channel in [c for c, subs in self._subscribers.items() if mailbox in subs]:
            self.unsubscribe(channel, mailbox)

    def publish(self, channel: str, seq: int, frame: bytes) -> int:
        """Hand `frame` to every subscriber of `channel`; return how many."""
        subs = self._subscribers.get(channel)
        if not subs:
            return 0
        for mailbox in subs:
            mailbox.put(channel, seq, frame)
        return len(subs)

    def channels(self) -> int:
        return len(self._subscribers)
