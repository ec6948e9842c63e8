"""The first frames of a subscription, against an in-memory view store."""

from __future__ import annotations

import json
from typing import Any

from votewire.infra.redis_views import StoredView
from votewire.live.mailbox import Mailbox
from votewire.live.protocol import Subscribe
from votewire.live.subscription import open_channel

C = "race:e:r1"


class MemoryViews:
    """The two reads `open_channel` makes, over a list of update messages."""

    def __init__(self, seq: int, epoch: str = "E", kept_from: int = 1) -> None:
        self.seq, self.epoch, self.kept_from = seq, epoch, kept_from

    async def get_view(self, channel: str) -> StoredView | None:
        if self.seq == 0:
            return None
        return StoredView(channel, self.seq, self.seq, self.epoch, b'{"n":%d}' % self.seq)

    async def updates_since(self, channel: str, seq: int) -> list[tuple[int, bytes]] | None:
        if seq + 1 < self.kept_from:
            return None
        return [(s, b"u%d" % s) for s in range(seq + 1, self.seq + 1)]


async def first_frames(
    views: Any, request: Subscribe, budget: int = 1 << 20
) -> tuple[str, list[Any]]:
    box = Mailbox(budget)
    case = await open_channel(views, box, request)
    frames = await box.take()
    return case, [json.loads(f) if f.startswith(b"{") else f.decode() for f in frames]


async def test_no_view_yet_is_an_empty_subscription() -> None:
    """Nothing published: `subscribed` with seq 0 and empty."""
    case, frames = await first_frames(MemoryViews(0), Subscribe(C))
    assert case == "empty"
    assert frames == [{"type": "subscribed", "channel": C, "seq": 0, "empty": True}]


async def test_a_plain_subscribe_gets_the_snapshot() -> None:
    """Without resume: the snapshot at the stored seq, not flagged."""
    case, frames = await first_frames(MemoryViews(5), Subscribe(C))
    assert case == "snapshot"
    assert frames[0]["type"] == "snapshot" and frames[0]["seq"] == 5 and "resync" not in frames[0]


async def test_a_resume_replays_exactly_the_missed_updates() -> None:
    """Resume at 2 of 5: an ack saying 3 missed, then updates 3, 4, 5 verbatim."""
    case, frames = await first_frames(MemoryViews(5), Subscribe(C, 2, "E"))
    assert case == "resumed"
    assert frames[0] == {
        "type": "subscribed",
        "channel": C,
        "seq": 2,
        "epoch": "E",
        "resumed": True,
        "missed": 3,
    }
    assert frames[1:] == ["u3", "u4", "u5"]


async def test_every_unresumable_case_is_a_flagged_snapshot() -> None:
    """Trimmed stream, other epoch, a seq from the future, or too much to replay: resync."""
    for views, request, budget in [
        (MemoryViews(50, kept_from=30), Subscribe(C, 10, "E"), 1 << 20),
        (MemoryViews(5, epoch="F"), Subscribe(C, 2, "E"), 1 << 20),
        (MemoryViews(5), Subscribe(C, 9, "E"), 1 << 20),
        (MemoryViews(5), Subscribe(C, 2, "E"), 100),
    ]:
        case, frames = await first_frames(views, request, budget)
        assert case == "resync"
        assert frames[0]["type"] == "snapshot" and frames[0]["resync"] is True


async def test_a_resume_with_nothing_stored_is_flagged() -> None:
    """The view is gone: empty, with resync so the client drops what it held."""
    _, frames = await first_frames(MemoryViews(0), Subscribe(C, 3, "E"))
    assert frames[0]["resync"] is True and frames[0]["empty"] is True
