"""OffsetLedger and Sends: what a plain-consumer stage may commit, and when."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from votewire.aggregate.offset_ledger import OffsetLedger
from votewire.aggregate.plain_kafka import Sends


def test_take_hands_out_the_next_offset_of_each_moved_partition_once() -> None:
    ledger = OffsetLedger()
    assert ledger.take() == {}
    ledger.ack(0, 4)
    ledger.ack(2, 0)
    assert ledger.take() == {0: 5, 2: 1}
    assert ledger.take() == {}
    ledger.ack(0, 5)
    assert ledger.take() == {0: 6}


def test_a_redelivered_older_record_never_moves_the_frontier_back() -> None:
    ledger = OffsetLedger()
    ledger.ack(1, 9)
    assert ledger.take() == {1: 10}
    ledger.ack(1, 3)  # fetched again after a seek
    assert ledger.take() == {}
    assert ledger.done(1) == 10


def test_a_failed_commit_is_handed_out_again() -> None:
    ledger = OffsetLedger()
    ledger.ack(0, 1)
    offsets = ledger.take()
    ledger.untake(offsets)
    assert ledger.take() == {0: 2}


def test_done_is_past_the_acknowledged_and_at_least_the_committed() -> None:
    ledger = OffsetLedger()
    assert ledger.done(0) == 0  # nothing known: a fresh group reads from 0
    ledger.committed({0: 40, 1: None})
    assert ledger.done(0) == 40
    assert ledger.done(1) == 0
    ledger.ack(0, 41)
    assert ledger.done(0) == 42
    ledger.committed({0: 30})  # an older answer never moves it back
    assert ledger.done(0) == 42


def test_forget_drops_everything_of_the_revoked_assignment() -> None:
    ledger = OffsetLedger()
    ledger.ack(0, 7)
    ledger.committed({0: 3})
    ledger.forget()
    assert ledger.take() == {}
    assert ledger.done(0) == 0


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=60))
def test_committed_offsets_never_pass_an_unacknowledged_record(
    acks: list[tuple[int, int]],
) -> None:
    """Whatever the order of acks and takes, each partition's handed-out offset is
    one past the highest acknowledged there, and never goes backwards."""
    ledger = OffsetLedger()
    handed: dict[int, int] = {}
    for n, (partition, offset) in enumerate(acks):
        ledger.ack(partition, offset)
        if n % 3 == 0:
            for p, o in ledger.take().items():
                assert o > handed.get(p, -1)
                handed[p] = o
    for p, o in ledger.take().items():
        handed[p] = o
    highest: dict[int, int] = {}
    for partition, offset in acks:
        highest[partition] = max(highest.get(partition, -1), offset)
    assert handed == {p: o + 1 for p, o in highest.items()}


class FakeProducer:
    """An AIOKafkaProducer's `send`: enqueued now, acknowledged (or refused) later."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        self.pending: list[asyncio.Future[None]] = []

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future


async def test_settle_waits_for_every_enqueued_send_and_raises_a_refused_one() -> None:
    producer = FakeProducer()
    sends = Sends(producer)  # type: ignore[arg-type]
    await sends.to("views").send(b"k", b"v1")
    await sends.to("views").send(b"k", b"v2")
    settling = asyncio.ensure_future(sends.settle())
    await asyncio.sleep(0)
    assert not settling.done()  # Kafka has not answered yet: no commit may follow
    producer.pending[0].set_result(None)
    producer.pending[1].set_exception(RuntimeError("MessageSizeTooLarge"))
    with pytest.raises(RuntimeError):
        await settling
    assert producer.sent == [("views", b"k", b"v1"), ("views", b"k", b"v2")]
    await sends.settle()  # nothing left from before
