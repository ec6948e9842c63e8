"""The first frames of a subscription: a snapshot, or exactly what was missed.

`open_channel` is called with the connection's mailbox already subscribed
to the channel in the hub and the channel *held*, so no live update can
overtake what this queues. Cases (docs/live-protocol.md, "Subscribing"):

- no view yet: `subscribed` with seq 0 and `empty: true`;
- a resume at (seq, epoch) of the current epoch whose missed updates are
  all still in the Redis stream and fit in the connection's reply budget:
  `subscribed` with `resumed: true` and `missed: k`, then those k updates
  (the same frames live clients got), in seq order;
- otherwise (no resume, other epoch, stream trimmed past it, too much to
  replay, a seq from the future): the snapshot, flagged `resync: true` when a
  resume was asked for, so a client never mistakes a jump for continuity.
  The snapshot of an event channel (`anomalies:E`) is its window of newest
  events (live/anomalies.py), at the newest event's seq.
"""

from __future__ import annotations

from typing import Protocol

from votewire.infra.views import StoredView
from votewire.live.anomalies import is_event_channel, window
from votewire.live.mailbox import Mailbox
from votewire.live.protocol import Subscribe, control, snapshot_frame, update_frame

_ACK_BYTES = 512
"""Room kept for the `subscribed` acknowledgement ahead of a replay."""


class ViewSource(Protocol):
    """What a subscription reads: the `ViewStore`, or a view kept in-process (pipeline.py)."""

    async def get_view(self, channel: str) -> StoredView | None: ...

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None: ...


def _size(frames: list[bytes]) -> int:
    return sum(len(frame) for frame in frames)


async def open_channel(views: ViewSource, mailbox: Mailbox, request: Subscribe) -> str:
    """Queue the subscription's first frames; return which case applied."""
    channel = request.channel
    resuming = request.resume_seq is not None
    stored = await views.get_view(channel)
    if stored is None:
        flag = {"resync": True} if resuming else {}
        mailbox.put_reply(control("subscribed", channel=channel, seq=0, empty=True, **flag))
        return "empty"
    since = request.resume_seq
    if since is not None and request.resume_epoch == stored.epoch and since <= stored.seq:
        missed = await views.updates_since(channel, since)
        frames = [update_frame(view) for view in missed or ()]
        if missed is not None and _size(frames) + _ACK_BYTES <= mailbox.reply_room():
            mailbox.put_reply(
                control(
                    "subscribed",
                    channel=channel,
                    seq=since,
                    epoch=stored.epoch,
                    resumed=True,
                    missed=len(missed),
                )
            )
            for frame in frames:
                mailbox.put_reply(frame)
            mailbox.mark_sent(channel, stored.epoch, missed[-1].seq if missed else since)
            return "resumed"
    shown = await window(views, stored) if is_event_channel(channel) else stored
    mailbox.put_reply(snapshot_frame(shown, resync=resuming))
    mailbox.mark_sent(channel, stored.epoch, stored.seq)
    return "resync" if resuming else "snapshot"
