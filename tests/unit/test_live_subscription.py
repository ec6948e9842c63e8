"""The first frames of a subscription, against the in-memory views store."""

from __future__ import annotations

import json
from typing import Any

from votewire.infra.memory_views import MemoryViews
from votewire.live.mailbox import Mailbox
from votewire.live.protocol import Subscribe
from votewire.live.subscription import open_channel

C = "race:e:r1"


async def store(seqs: int, feed_maxlen: int = 1000) -> tuple[MemoryViews, str]:
    """A store whose channel C holds views 1..`seqs` (seq = version = n); and its epoch."""
    views = MemoryViews(feed_maxlen)
    for n in range(1, seqs + 1):
        await views.put_view(C, n, b'{"n":%d}' % n)
    stored = await views.get_view(C)
    return views, stored.epoch if stored else ""


async def first_frames(
    views: MemoryViews, request: Subscribe, budget: int = 1 << 20
) -> tuple[str, list[dict[str, Any]]]:
    box = Mailbox(budget)
    case = await open_channel(views, box, request)
    return case, [json.loads(f) for f in await box.take()]


async def test_no_view_yet_is_an_empty_subscription() -> None:
    """Nothing published: `subscribed` with seq 0 and empty."""
    views, _ = await store(0)
    case, frames = await first_frames(views, Subscribe(C))
    assert case == "empty"
    assert frames == [{"type": "subscribed", "channel": C, "seq": 0, "empty": True}]


async def test_a_plain_subscribe_gets_the_snapshot() -> None:
    """Without resume: the snapshot at the stored seq, not flagged."""
    views, epoch = await store(5)
    case, frames = await first_frames(views, Subscribe(C))
    assert case == "snapshot"
    assert frames == [
        {"type": "snapshot", "channel": C, "seq": 5, "epoch": epoch, "version": 5, "view": {"n": 5}}
    ]


async def test_a_resume_replays_exactly_the_missed_updates() -> None:
    """Resume at 2 of 5: an ack saying 3 missed, then updates 3, 4, 5 as live clients got them."""
    views, epoch = await store(5)
    case, frames = await first_frames(views, Subscribe(C, 2, epoch))
    assert case == "resumed"
    assert frames[0] == {
        "type": "subscribed",
        "channel": C,
        "seq": 2,
        "epoch": epoch,
        "resumed": True,
        "missed": 3,
    }
    assert frames[1:] == [
        {"type": "update", "channel": C, "seq": n, "epoch": epoch, "version": n, "view": {"n": n}}
        for n in (3, 4, 5)
    ]


async def test_every_unresumable_case_is_a_flagged_snapshot() -> None:
    """Trimmed feed, other epoch, a seq from the future, or too much to replay: resync."""
    trimmed, epoch = await store(50, feed_maxlen=20)
    plain, current = await store(5)
    for views, request, budget in [
        (trimmed, Subscribe(C, 10, epoch), 1 << 20),
        (plain, Subscribe(C, 2, "another-epoch"), 1 << 20),
        (plain, Subscribe(C, 9, current), 1 << 20),
        (plain, Subscribe(C, 2, current), 100),
    ]:
        case, frames = await first_frames(views, request, budget)
        assert case == "resync"
        assert frames[0]["type"] == "snapshot" and frames[0]["resync"] is True


async def test_a_resume_with_nothing_stored_is_flagged() -> None:
    """The view is gone: empty, with resync so the client drops what it held."""
    views, _ = await store(0)
    _, frames = await first_frames(views, Subscribe(C, 3, "E"))
    assert frames[0]["resync"] is True and frames[0]["empty"] is True
