"""The hub and mailboxes: fan-out, conflation, bounded memory, ordering, epochs."""

from __future__ import annotations

import asyncio

import pytest
from votewire.live.direct import binary_frame
from votewire.live.hub import Hub
from votewire.live.mailbox import Mailbox, QueueFull
from websockets.frames import Frame, Opcode

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


class Socket:
    """A direct writer that records what it wrote, or refuses (buffer full)."""

    def __init__(self, accepting: bool = True) -> None:
        self.accepting = accepting
        self.wrote: list[bytes] = []

    def write(self, wire: bytes) -> bool:
        if self.accepting:
            self.wrote.append(wire)
        return self.accepting


async def parked(box: Mailbox) -> asyncio.Task[list[bytes]]:
    """A writer waiting in `take`, as a session's is between frames."""
    writer = asyncio.create_task(box.take())
    await asyncio.sleep(0)  # one loop turn: the task runs up to its wait
    assert not writer.done()
    return writer


async def test_an_idle_connection_gets_the_update_framed_once_without_a_wake_up() -> None:
    """The hub frames an update once; idle mailboxes write those bytes straight out."""
    socket_a, socket_b = Socket(), Socket()
    hub = Hub()
    a, b = Mailbox(direct=socket_a.write), Mailbox(direct=socket_b.write)
    hub.subscribe("summary:e", a)
    hub.subscribe("summary:e", b)
    writers = [await parked(a), await parked(b)]
    assert hub.publish("summary:e", E, 1, b"u1") == 2
    assert socket_a.wrote == socket_b.wrote == [binary_frame(b"u1")]
    assert socket_a.wrote[0] is socket_b.wrote[0]  # the same bytes object: framed once
    assert hub.written_direct == 2
    assert a.position["summary:e"] == (E, 1)
    hub.publish("summary:e", E, 1, b"u1-again")  # already sent: dropped, not rewritten
    assert len(socket_a.wrote) == 1
    assert not any(w.done() for w in writers)  # nobody was woken
    for writer in writers:
        writer.cancel()


async def test_a_busy_held_or_full_connection_queues_instead_so_nothing_is_overtaken() -> None:
    """Direct writes only when the writer is parked with nothing in hand, no reply waits,
    and the channel is neither held nor pending; otherwise the update is queued."""
    socket = Socket()
    box = Mailbox(direct=socket.write)
    assert not box.put("race:e:r1", E, 1, b"u1", binary_frame(b"u1"))  # writer not parked
    assert await box.take() == [b"u1"]

    writer = await parked(box)
    box.put_reply(b"snapshot")  # a reply waits: the update must follow it
    assert not box.put("race:e:r2", E, 1, b"v1", binary_frame(b"v1"))
    assert await writer == [b"snapshot", b"v1"]

    writer = await parked(box)
    box.hold("race:e:r3")  # a subscribe is reading r3's snapshot
    assert not box.put("race:e:r3", E, 5, b"w5", binary_frame(b"w5"))
    assert box.put("race:e:r1", E, 2, b"u2", binary_frame(b"u2"))  # other channels go
    box.release("race:e:r3")
    assert await writer == [b"w5"]

    socket.accepting = False  # the socket's buffer is above its high-water mark
    writer = await parked(box)
    assert not box.put("race:e:r1", E, 3, b"u3", binary_frame(b"u3"))
    assert await writer == [b"u3"]
    assert socket.wrote == [binary_frame(b"u2")]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_an_update_frame_is_what_websockets_would_send(size: int) -> None:
    """`binary_frame` equals a server-side websockets frame: unmasked, final, binary."""
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])
    assert binary_frame(payload) == expected
