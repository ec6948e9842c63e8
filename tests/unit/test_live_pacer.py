"""The pacer: at most max_hz publishes per channel, the newest always delivered."""

from __future__ import annotations

from collections.abc import Callable

from votewire.live.hub import Hub
from votewire.live.mailbox import Mailbox
from votewire.live.pacer import Pacer

E = "epoch-a"
CH = "summary:e"


class Timers:
    """A clock and a `call_later` that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.due: list[tuple[float, Callable[[str], None], str]] = []

    def call_later(self, delay: float, callback: Callable[[str], None], arg: str) -> None:
        self.due.append((self.now + delay, callback, arg))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        ready = [d for d in self.due if d[0] <= self.now]
        self.due = [d for d in self.due if d[0] > self.now]
        for _, callback, arg in ready:
            callback(arg)


def paced(max_hz: float) -> tuple[Pacer, Hub, Mailbox, Timers]:
    hub, box, timers = Hub(frame_once=False), Mailbox(), Timers()
    hub.subscribe(CH, box)
    hub.subscribe("race:e:r1", box)
    return Pacer(hub, max_hz, lambda: timers.now, timers.call_later), hub, box, timers


async def test_a_burst_goes_out_as_its_first_and_its_newest_update() -> None:
    """At 4 Hz, 20 updates within 250 ms: the first at once, the 20th when the interval
    ends, the 18 between them never fanned out."""
    pacer, hub, box, timers = paced(4)
    for seq in range(1, 21):
        pacer.offer(CH, E, seq, f"u{seq}".encode())
        timers.advance(0.01)
    assert hub.published == 1
    assert await box.take() == [b"u1"]
    timers.advance(0.25)
    assert hub.published == 2
    assert await box.take() == [b"u20"]
    assert pacer.superseded == 18
    assert timers.due == []


async def test_channels_are_paced_apart_and_a_quiet_channel_is_never_delayed() -> None:
    pacer, hub, box, timers = paced(4)
    pacer.offer(CH, E, 1, b"s1")
    pacer.offer("race:e:r1", E, 1, b"r1")  # another channel: its own interval
    assert hub.published == 2
    assert sorted(await box.take()) == [b"r1", b"s1"]
    timers.advance(0.3)
    pacer.offer(CH, E, 2, b"s2")  # past the interval: at once
    assert hub.published == 3
    assert await box.take() == [b"s2"]
    assert timers.due == []


async def test_a_late_older_update_never_replaces_a_newer_waiting_one() -> None:
    pacer, hub, box, timers = paced(2)
    pacer.offer(CH, E, 1, b"u1")
    pacer.offer(CH, E, 3, b"u3")
    pacer.offer(CH, E, 2, b"u2")  # out of order: dropped
    pacer.offer(CH, "epoch-b", 1, b"b1")  # a rebuilt epoch: newer, replaces
    timers.advance(0.5)
    assert hub.published == 2
    assert await box.take() == [b"b1"]  # u1 still unsent, so the mailbox kept the newest
    assert pacer.superseded == 1


async def test_zero_means_every_update() -> None:
    pacer, hub, _, timers = paced(0)
    for seq in range(1, 6):
        pacer.offer(CH, E, seq, f"u{seq}".encode())
    assert hub.published == 5
    assert timers.due == []
