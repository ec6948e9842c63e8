"""Which offsets a plain-consumer stage may commit, and how far it has folded (pure).

The races worker (races_worker.py) consumes the reports topic with its own
aiokafka consumer, so it keeps the bookkeeping faust would: per partition,

- `ack(partition, offset)`: the record is folded and every output of its fold
  is enqueued on the producer (the batch loop acknowledges only then, in
  fetch order, never part of a batch);
- `take()`: the offsets to commit now, `{partition: next offset to read}`,
  for the partitions whose acknowledged frontier moved since the last take.
  The caller awaits the enqueued sends *after* taking and before committing,
  so a committed offset never runs ahead of a delivered output
  (at-least-once);
- `committed(offsets)`: what the group holds (read on assignment, or just
  committed); `done(partition)` is the first offset not yet folded here:
  past the highest acknowledged, at least the committed one (health.Offsets);
- `forget()`: on revocation, everything goes (the next owner re-folds).

Acknowledgements within a partition arrive in offset order, except that a
record may come again after a seek (re-delivery is harmless: the fold is
idempotent); the frontier only ever moves forward.
"""

from __future__ import annotations

from collections.abc import Mapping


class OffsetLedger:
    def __init__(self) -> None:
        self._acked: dict[int, int] = {}
        """partition -> highest offset acknowledged (ever, since the assignment)."""
        self._taken: dict[int, int] = {}
        """partition -> the next offset last handed out by `take`."""
        self._committed: dict[int, int] = {}

    def ack(self, partition: int, offset: int) -> None:
        if offset > self._acked.get(partition, -1):
            self._acked[partition] = offset

    def take(self) -> dict[int, int]:
        moved = {p: o + 1 for p, o in self._acked.items() if o + 1 > self._taken.get(p, -1)}
        self._taken.update(moved)
        return moved

    def untake(self, offsets: Mapping[int, int]) -> None:
        """A commit of `offsets` failed: hand them out again with the next `take`."""
        for partition in offsets:
            self._taken.pop(partition, None)

    def committed(self, offsets: Mapping[int, int | None]) -> None:
        for partition, offset in offsets.items():
            if offset is not None and offset > self._committed.get(partition, -1):
                self._committed[partition] = offset

    def done(self, partition: int) -> int:
        return max(self._committed.get(partition, 0), self._acked.get(partition, -1) + 1)

    def forget(self) -> None:
        self._acked.clear()
        self._taken.clear()
        self._committed.clear()
