"""The hub: channel -> subscribers, fan-out without letting one client stall another.

Each update is delivered as the bytes the aggregate encoded once; the hub
never re-encodes per client. With `frame_once` it also builds the update's
websocket frame once, for the mailboxes that can write it straight to their
socket (direct.py). `publish` only drops the frame into each
subscriber's `Mailbox` (no await, no I/O): every connection has its own
writer task draining its mailbox, so a client that does not read delays
nobody but itself. The hub holds no data of its own: views and their history
live in Redis, so any live process can serve any client.
"""

from __future__ import annotations

from collections import defaultdict

from votewire.live.direct import binary_frame
from votewire.live.mailbox import Mailbox


class Hub:
    """Who listens to what. Not thread-safe; lives on one event loop."""

    def __init__(self, frame_once: bool = True) -> None:
        self.frame_once = frame_once
        self._subscribers: dict[str, set[Mailbox]] = defaultdict(set)
        self.published = 0
        """Updates handed to at least one subscriber."""
        self.written_direct = 0
        """Copies of updates written straight to a socket (the rest were queued)."""

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

    def publish(self, channel: str, epoch: str, seq: int, frame: bytes) -> int:
        """Hand `frame` to every subscriber of `channel`; return how many."""
        subs = self._subscribers.get(channel)
        if not subs:
            return 0
        wire = binary_frame(frame) if self.frame_once else None
        direct = 0
        for mailbox in subs:
            direct += mailbox.put(channel, epoch, seq, frame, wire)
        self.written_direct += direct
        self.published += 1
        return len(subs)

    def channels(self) -> list[str]:
        """Channels with at least one subscriber."""
        return list(self._subscribers)

    def subscriptions(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())
