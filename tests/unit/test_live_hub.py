"""The hub and mailboxes: fan-out, conflation, bounded memory, ordering."""

from __future__ import annotations

from services.live.hub import Hub, Mailbox


async def test_publish_reaches_only_subscribers_of_the_channel() -> None:
    """A frame goes to every subscriber of its channel and to nobody else."""
    hub, a, b = Hub(), Mailbox(), Mailbox()
    hub.subscribe("race:e:r1", a)
    hub.subscribe("race:e:r2", b)
    assert hub.publish("race:e:r1", 1, b"u1") == 1
    assert await a.take() == [b"u1"]
    assert hub.publish("race:e:r3", 1, b"x") == 0


async def test_a_slow_client_gets_the_newest_view_not_a_backlog() -> None:
    """Updates not yet taken are conflated per channel: only the newest is kept."""
    box = Mailbox()
    for seq in range(1, 51):
        box.put("race:e:r1", seq, f"u{seq}".encode())
    box.put("race:e:r2", 1, b"v1")
    assert await box.take() == [b"u50", b"v1"]
    assert box.conflated == 49


async def test_nothing_older_than_what_was_sent_is_delivered() -> None:
    """After a snapshot at seq 7, updates up to 7 are dropped and 8 passes."""
    box = Mailbox()
    box.put("race:e:r1", 6, b"u6")
    box.mark_sent("race:e:r1", 7)
    box.put("race:e:r1", 7, b"u7")
    box.put("race:e:r1", 8, b"u8")
    assert await box.take() == [b"u8"]


async def test_control_frames_come_before_updates() -> None:
    """Replies (snapshot, pong, error) precede queued updates in one batch."""
    box = Mailbox()
    box.put("race:e:r1", 1, b"u1")
    box.put_control(b"pong")
    assert await box.take() == [b"pong", b"u1"]


def test_dropping_a_connection_leaves_no_subscription() -> None:
    """`drop` unsubscribes a mailbox from every channel and forgets empty channels."""
    hub, box = Hub(), Mailbox()
    hub.subscribe("race:e:r1", box)
    hub.subscribe("summary:e", box)
    hub.drop(box)
    assert hub.channels() == 0
