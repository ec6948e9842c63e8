"""What faust's consumer knows about progress: the worker's `Phase` and, per
assigned input partition, `Offsets(end, done)` (health.py).

`done` is the first offset this process has not folded: one past the highest
offset its agents acknowledged since the last commit, or the offset the
group has committed (read from the broker when partitions are assigned, and
advanced by every commit of this process), whichever is further. Before the
first commit of a fresh group nothing is known and `done` is 0, which is
exact with `auto_offset_reset=earliest`. faust's monitor
(`tp_committed_offsets`) is not used: it only learns offsets this process
commits itself, so after a restart with nothing new to fold every partition
looked "behind since offset 0".

It reads two attributes of faust's `Consumer` (`_committed_offset`, `_acked`);
`check_consumer` refuses a faust that renamed them (tested in
tests/unit/test_aggregate_lag.py), as transport.py does for its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import faust
from faust.transport.consumer import Consumer
from votewire.aggregate.health import Offsets, Phase

_COMMITTED = "_committed_offset"  # TP -> next offset to read; set by perform_seek and commits
_ACKED = "_acked"  # TP -> acknowledged offsets not yet committed


def check_consumer(cls: type = Consumer) -> None:
    """RuntimeError if faust's Consumer no longer declares what `partition_offsets` reads."""
    declared = getattr(cls, "__annotations__", {})
    missing = [name for name in (_COMMITTED, _ACKED) if name not in declared]
    if missing:
        raise RuntimeError(f"faust's Consumer has no {', '.join(missing)}; cannot measure lag")


def phase(app: faust.App) -> Phase:
    """STARTING before the first assignment, RECOVERING while faust rebalances or
    restores tables, RUNNING otherwise."""
    if app.rebalancing or getattr(app, "in_recovery", False):
        return Phase.RECOVERING
    tables: Any = app.tables  # the TableManager; its type stub lacks `recovery`
    if not tables.recovery.completed.is_set():
        return Phase.STARTING
    return Phase.RUNNING


def frontier(committed: int | None, acked: Iterable[int]) -> int:
    """The first offset not yet folded: past the acknowledged ones, at least `committed`."""
    highest = max(acked, default=-1)
    return max(committed or 0, highest + 1)


def owned_partitions(app: faust.App, topics: Iterable[str]) -> int:
    """How many partitions of `topics` are assigned to this worker now."""
    names = set(topics)
    try:
        return sum(tp.topic in names for tp in app.consumer.assignment())
    except Exception:  # not started yet
        return 0


def partition_offsets(app: faust.App, topics: Iterable[str]) -> dict[str, Offsets]:
    """`Offsets` per "topic:partition" of `topics` assigned to this worker, for those
    whose end the consumer has learnt (from its first fetch on)."""
    names = set(topics)
    try:
        consumer = app.consumer
        assigned = consumer.assignment()
    except Exception:  # not started yet: nothing is known
        return {}
    committed: Mapping[Any, int | None] = getattr(consumer, _COMMITTED, {})
    acked: Mapping[Any, list[int]] = getattr(consumer, _ACKED, {})
    found: dict[str, Offsets] = {}
    for tp in assigned:
        if tp.topic not in names:
            continue
        end = consumer.highwater(tp)
        if end is None:
            continue
        # .get: both are defaultdicts, and a lookup must not insert
        done = frontier(committed.get(tp), acked.get(tp) or ())
        found[f"{tp.topic}:{tp.partition}"] = Offsets(end, done)
    return found


class ConsumerBacklog:
    """`batch_loop.Backlog` from faust's consumer: a batch is behind if, in one of its
    partitions, the consumer's last known end (`highwater`, learnt from each fetch
    response) is past the batch's last offset + 1. An unknown end is not behind."""

    def __init__(self, highwater: Callable[[Any], int | None]) -> None:
        self.highwater = highwater

    def behind(self, events: Sequence[Any]) -> bool:
        last: dict[Any, int] = {}
        for event in events:
            message = event.message
            tp, offset = message.tp, message.offset
            if offset > last.get(tp, -1):
                last[tp] = offset
        for tp, offset in last.items():
            try:
                end = self.highwater(tp)
            except Exception:  # not assigned any more, consumer stopping
                continue
            if end is not None and end > offset + 1:
                return True
        return False
