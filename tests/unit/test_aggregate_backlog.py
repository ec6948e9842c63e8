"""ConsumerBacklog: a batch is behind when its partition's known end is past it."""

from __future__ import annotations

from dataclasses import dataclass

from votewire.aggregate.lag import ConsumerBacklog


@dataclass(frozen=True)
class Message:
    tp: str
    offset: int


@dataclass(frozen=True)
class Event:
    message: Message


def batch(*pairs: tuple[str, int]) -> list[Event]:
    return [Event(Message(tp, offset)) for tp, offset in pairs]


def test_behind_when_a_partition_has_records_past_the_batch() -> None:
    ends = {"r-0": 10, "r-1": 5}
    backlog = ConsumerBacklog(ends.get)
    assert backlog.behind(batch(("r-0", 9), ("r-1", 3))) is True  # r-1 has offset 4 waiting
    assert backlog.behind(batch(("r-0", 9), ("r-1", 4))) is False  # both at their end
    assert backlog.behind(batch(("r-1", 4), ("r-1", 2))) is False  # the highest offset counts


def test_an_unknown_or_unreadable_end_is_not_behind() -> None:
    """No fetch response yet (None) or a partition no longer assigned: publish at once."""

    def highwater(tp: str) -> int | None:
        if tp == "gone":
            raise KeyError(tp)
        return None

    backlog = ConsumerBacklog(highwater)
    assert backlog.behind(batch(("r-0", 0), ("gone", 3))) is False
    assert backlog.behind([]) is False
