"""The hub and mailboxes: fan-out, conflation, bounded memory, ordering, epochs."""

from __future__ import annotations

import pytest

from services.live.hub import Hub
from services.live.mailbox import Mailbox, QueueFull

E = "epoch-a"


async def test_publish_reaches_only_subscribers_of_the_channel() -> None:
    """A frame goes to every subscriber of its channel and to nobody else."""
    hub, a, b = Hub(), Mailbox(), Mailbox()
    hub.subscribe("race:e:r1", a)
    hub.subscribe("race:e:r2", b)
    assert hub.publish("race:e:r1", E, 1, b"u1") == 1
    assert await a.take() == [b"u1"]
    assert hub.publish("race:e:r3", E, 1, b"x") == 0


async def test_a_slow_client_gets_the_newest_view_not_a_backlog() -> None:
    """Updates not yet taken are conflated per channel: only the newest is kept."""
    box = Mailbox()
    for seq in range(1, 51):
        box.put("race:e:r1", E, seq, f"u{seq}".encode())
    box.put("race:e:r2", E, 1, b"v1")
    assert await box.take() == [b"u50", b"v1"]
    assert box.conflated == 49


async def test_nothing_older_than_what_was_sent_is_delivered() -> None:
    """After a snapshot at seq 7, updates up to 7 are dropped and 8 passes."""
    box = Mailbox()
    box.put("race:e:r1", E, 6, b"u6")
    box.mark_sent("race:e:r1", E, 7)
    box.put("race:e:r1", E, 7, b"u7")
    box.put("race:e:r1", E, 8, b"u8")
    assert await box.take() == [b"u8"]


async def test_a_new_epoch_passes_even_with_a_lower_seq() -> None:
    """After a rebuild (new epoch) seq restarts; the first update of it is delivered."""
    box = Mailbox()
    box.mark_sent("race:e:r1", E, 500)
    box.put("race:e:r1", "epoch-b", 1, b"b1")
    assert await box.take() == [b"b1"]
    assert box.position["race:e:r1"] == ("epoch-b", 1)


async def test_replies_come_before_updates() -> None:
    """Replies (snapshot, pong, error) precede queued updates in one batch."""
    box = Mailbox()
    box.put("race:e:r1", E, 1, b"u1")
    box.put_reply(b"pong")
    assert await box.take() == [b"pong", b"u1"]


async def test_a_held_channel_waits_for_its_snapshot() -> None:
    """While a subscribe reads its snapshot, that channel's update stays queued."""
    box = Mailbox()
    box.hold("race:e:r1")
    box.put("race:e:r1", E, 9, b"u9")
    box.put("race:e:r2", E, 1, b"v1")
    assert await box.take() == [b"v1"]
    box.put_reply(b"snapshot@8")
    box.mark_sent("race:e:r1", E, 8)
    box.release("race:e:r1")
    assert await box.take() == [b"snapshot@8", b"u9"]


def test_replies_are_bounded_in_bytes() -> None:
    """The reply queue refuses what would exceed its budget, but one reply always fits."""
    box = Mailbox(max_reply_bytes=100)
    box.put_reply(b"x" * 150)
    with pytest.raises(QueueFull):
        box.put_reply(b"y")
    assert box.reply_room() == -50


def test_dropping_a_connection_leaves_no_subscription() -> None:
    """`drop` unsubscribes a mailbox from every channel and forgets empty channels."""
    hub, box = Hub(), Mailbox()
    hub.subscribe("race:e:r1", box)
    hub.subscribe("summary:e", box)
    hub.drop(box)
    assert hub.channels() == []
    assert hub.subscriptions() == 0
