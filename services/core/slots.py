"""Which report fills each slot, decided so that arrival order never matters.

A `SlotBook` holds every distinct report of one race that could still matter
and, per slot (`models.slot_key`), the winner. The winner is a pure function
of the *set* of reports offered, whatever their order or repetition:

1. Per `report_id`, only one report survives: the one with the smallest
   canonical encoding (`codec.report_to_bytes`). A second, different report
   under a known id is a *report-id conflict*; if it encodes smaller it
   displaces the first (which leaves its slot, whose winner is re-chosen).
2. Per slot, among the survivors: the highest `revision` wins; among equal
   revisions, the smallest canonical encoding.

`offer(report)` classifies the arrival against the book as it was:
- "duplicate": byte-identical to a known report, or same slot and revision
  as the winner with the same figures (only `report_id`/`reported_at` differ);
- "stale": a lower revision than the slot's winner (kept, never wins unless
  the winner is later displaced by a report-id conflict);
- "conflict": a report-id conflict, or same slot and revision as the winner
  with different figures;
- "applied": it became its slot's winner with a higher revision (or filled an
  empty slot).
The returned `SlotChange`s list every slot whose winner changed (at most two).
Survivors are kept so that a displaced winner can be replaced exactly; a
slot seldom holds more than a couple of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from votewire.core.codec import report_to_bytes
from votewire.core.models import Report, ResultReport, SlotKey, TurnoutReport

Status = Literal["applied", "duplicate", "stale", "conflict"]


class SlotChange(NamedTuple):
    key: SlotKey
    old: Report | None
    new: Report | None


class Offer(NamedTuple):
    """How `SlotBook.offer` classified a report, and what it changed."""

    status: Status
    changes: tuple[SlotChange, ...]
    rival: Report | None = None
    """For a conflict: the report it clashed with (same id, or the slot's winner)."""
    kept: bool = False
    """For a conflict: whether the offered report won it."""


_DUPLICATE = Offer("duplicate", ())
_STALE = Offer("stale", ())


def same_figures(a: Report, b: Report) -> bool:
    """Equal counts (ignoring report_id, reported_at); both of one slot and revision."""
    if isinstance(a, ResultReport):
        assert isinstance(b, ResultReport)
        return (
            a.ballots_cast == b.ballots_cast
            and a.registered == b.registered
            and a.against_all == b.against_all
            and a.invalid == b.invalid
            and a.votes == b.votes
        )
    return a.ballots_cast == b.ballots_cast


def key_of(report: Report) -> SlotKey:
    """`models.slot_key`, inlined for the hot path."""
    if type(report) is TurnoutReport:
        return (report.race_id, report.precinct_id, "turnout", report.mark)
    return (report.race_id, report.precinct_id, "result", "")


def _identical(a: Report, b: Report) -> bool:
    return a == b and a.reported_at.utcoffset() == b.reported_at.utcoffset()


def _rank(report: Report) -> tuple[int, bytes]:
    return (-report.revision, report_to_bytes(report))


class SlotBook:
    """Slot winners of one race; see the module doc for the rules."""

    __slots__ = ("_by_id", "_others", "_winners")

    def __init__(self) -> None:
        self._by_id: dict[str, Report] = {}
        self._winners: dict[SlotKey, Report] = {}
        self._others: dict[SlotKey, list[Report]] = {}
        """Survivors of a slot other than its winner (only for slots that have some)."""

    def winner(self, key: SlotKey) -> Report | None:
        return self._winners.get(key)

    def reports(self) -> Iterable[Report]:
        """Every surviving report (each under its own report_id)."""
        return self._by_id.values()

    def fill(self, report: Report) -> bool:
        """The fast path of `offer`: if `report` has a new id and its slot is empty,
        store it as the slot's winner and return True; else change nothing, False."""
        rid = report.report_id
        if rid in self._by_id:
            return False
        key = key_of(report)
        if key in self._winners:
            return False
        self._by_id[rid] = report
        self._winners[key] = report
        return True

    def offer(self, report: Report) -> Offer:
        """Add `report`; return how it was classified and which winners changed."""
        known = self._by_id.get(report.report_id)
        if known is None:
            return self._insert(report)
        if known is report or _identical(known, report):
            return _DUPLICATE
        if report_to_bytes(report) >= report_to_bytes(known):
            return Offer("conflict", (), known, False)
        removed = self._remove(known)
        inserted = self._insert(report)
        return Offer("conflict", removed + inserted.changes, known, True)

    def _insert(self, report: Report) -> Offer:
        self._by_id[report.report_id] = report
        key = key_of(report)
        current = self._winners.get(key)
        if current is None:
            self._winners[key] = report
            return Offer("applied", (SlotChange(key, None, report),))
        others = self._others.setdefault(key, [])
        if report.revision < current.revision:
            others.append(report)
            return _STALE
        if report.revision > current.revision:
            status: Status = "applied"
            rival = None
        else:
            status = "duplicate" if same_figures(report, current) else "conflict"
            rival = current if status == "conflict" else None
            if report_to_bytes(report) > report_to_bytes(current):
                others.append(report)
                return Offer(status, (), rival, False)
        others.append(current)
        self._winners[key] = report
        return Offer(status, (SlotChange(key, current, report),), rival, True)

    def _remove(self, report: Report) -> tuple[SlotChange, ...]:
        """Drop a survivor (displaced by a report-id conflict); re-choose its slot's winner."""
        del self._by_id[report.report_id]
        key = key_of(report)
        others = self._others.pop(key, [])
        change: tuple[SlotChange, ...]
        if self._winners[key] is not report:
            rest = [r for r in others if r is not report]
            change = ()
        elif others:
            best = min(others, key=_rank)
            self._winners[key] = best
            rest = [r for r in others if r is not best]
            change = (SlotChange(key, report, best),)
        else:
            del self._winners[key]
            rest = []
            change = (SlotChange(key, report, None),)
        if rest:
            self._others[key] = rest
        return change
