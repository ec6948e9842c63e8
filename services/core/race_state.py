"""Everything about one race: its slots, running totals, view and snapshot.

`RaceState` is the unit of partitioning: the stream processor keeps one per
race (keyed by race_id) and restores it from `to_dict()` after a rebalance.

Contract of `apply(report)` (the report must be validated against the same
definition and belong to this race, else `ValueError`):
- the slot rules of `votewire.core.slots` decide the status; the race's
  totals and view depend only on the *set* of reports applied, never on
  their order or repetition;
- `changed` is true iff a slot winner's figures changed, i.e. the view
  changed; `version` then grows by exactly one. `version` counts state
  changes, so unlike the rest of the view it depends on arrival order;
- `flags` are soft anomalies raised by this arrival (the report is still
  applied): `turnout_decreased`, `result_below_turnout`, and, for conflicts,
  `revision_conflict` / `report_id_conflict`.

`apply(call)` folds a race call (`votewire.core.race_call`) the same way:
the standing call is the newest of the set of calls applied (order-free);
status "applied" when it became the standing call (then `changed`, and the
view's `call` shows it), "duplicate" when it is the standing call already,
"stale" when it is older. Calls are not counted in `counters` (reports are).
Whenever the race is complete and its standing call disagrees with the
computed outcome (`race_call.disagrees`), the change that made it so raises
`call_disagrees` (once per call and outcome); the outcome is never replaced.

`to_dict()` is JSON-ready: the surviving reports (wire encoding, sorted by
report_id), the version and the per-status counters, and `call` (the
standing call's wire form) once there is one. `from_dict` rebuilds an equal
state; flags are events and are not part of the snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from votewire.core.codec import decode_report_trusted, dumps, encode_report, report_to_bytes
from votewire.core.models import (
    ElectionDefinition,
    Report,
    ResultReport,
    TurnoutReport,
)
from votewire.core.precinct_rows import precinct_row
from votewire.core.race_call import CallBook, RaceCall, decode_call_trusted, disagrees, encode_call
from votewire.core.race_totals import RaceTotals
from votewire.core.race_view import render_race_view
from votewire.core.slots import SlotBook, Status, key_of, same_figures
from votewire.core.views import PartView, RaceView

STATUSES: tuple[Status, ...] = ("applied", "duplicate", "stale", "conflict")


@dataclass(frozen=True, slots=True)
class Flag:
    """A soft anomaly: `code` with the report that raised it and the figures."""

    code: str
    race_id: str
    precinct_id: str | None
    """None for a flag of the whole race (`call_disagrees`)."""
    mark: str | None
    report_id: str
    figures: Mapping[str, int | str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "race_id": self.race_id,
            "precinct_id": self.precinct_id,
            "mark": self.mark,
            "report_id": self.report_id,
            "figures": dict(self.figures),
        }


class ApplyResult(NamedTuple):
    """What one `apply` did: its status, whether the view changed, flags raised."""

    status: Status
    changed: bool
    flags: tuple[Flag, ...] = ()
    version: int = 0
    """The race view's version after this apply."""


class RaceState:
    """One race's fold state; see the module doc for the contract."""

    __slots__ = (
        "_book",
        "_calls",
        "_disagreement",
        "_encoded",
        "_race_id",
        "_totals",
        "_view",
        "counters",
        "definition",
        "race",
        "version",
    )

    def __init__(self, definition: ElectionDefinition, race_id: str) -> None:
        race = definition.race(race_id)
        if race is None:
            raise ValueError(f"unknown race {race_id!r}")
        self.definition = definition
        self.race = race
        self.version = 0
        self.counters: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self._book = SlotBook()
        self._calls = CallBook()
        self._disagreement: tuple[str, str, tuple[str, ...]] | None = None
        """(call_id, outcome type, candidates) last flagged as `call_disagrees`."""
        self._totals = RaceTotals(definition, race)
        self._race_id = race.race_id
        self._view: RaceView | None = None
        self._encoded: dict[str, tuple[Report, bytes]] = {}

    @property
    def race_id(self) -> str:
        return self.race.race_id

    def apply(self, report: Report | RaceCall) -> ApplyResult:
        """Fold one validated report, or a call, of this race (see the module doc)."""
        if type(report) is RaceCall:
            return self._apply_call(report)
        assert not isinstance(report, RaceCall)
        if report.race_id != self._race_id:
            raise ValueError(f"report {report.report_id!r} is not of race {self._race_id!r}")
        if self._book.fill(report):  # the common case: a new report into an empty slot
            self.counters["applied"] += 1
            self._totals.account(report, 1)
            self.version += 1
            self._totals.units.stamp(self.version)
            self._view = None
            raised = self._anomalies(report)
            if self._calls.current is not None:
                raised += self._call_check(report.report_id)
            return ApplyResult("applied", True, raised, self.version)
        status, changes, rival, kept = self._book.offer(report)
        self.counters[status] += 1
        changed = False
        replace = self._totals.replace
        for _, old, new in changes:
            if old is None or new is None or not same_figures(old, new):
                changed = True
            replace(old, new)
        flags: tuple[Flag, ...] = ()
        if changed:
            self.version += 1
            self._totals.units.stamp(self.version)
            self._view = None
        else:
            self._totals.units.unchanged()
            if self._book.winner(key_of(report)) is report:
                flags = self._anomalies(report)
        if rival is not None:
            flags = (_conflict_flag(report, rival, kept), *flags)
        if changed and self._calls.current is not None:
            flags += self._call_check(report.report_id)
        return ApplyResult(status, changed, flags, self.version)

    def unit_views(self, every: bool = False) -> list[dict[str, Any]]:
        """The documents of the reporting units (`race_units`) whose totals changed since
        the last call (`every`: of all units with a result), at the current version."""
        units = self._totals.units
        touched = units.changed()
        return [units.view(u) for u in (units.reporting() if every else touched)]

    def region_parts(self, every: bool = False) -> list[PartView]:
        """A race spanning regions: its parts (`race_units`, what it adds to each region's
        view) changed since the last call (`every`: all of them). [] for other races."""
        return self._totals.units.parts(every)

    def precinct_rows(self, every: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """(precinct_id, `precinct_rows.precinct_row`) of the precincts whose winning result
        changed since the last call (`every`: of every precinct with a result); a precinct
        whose result left (a report-id conflict) is omitted."""
        totals = self._totals
        touched, totals.results_changed = totals.results_changed, set()
        chosen = totals.results if every else touched
        return [
            (pid, precinct_row(self.definition, self.race, totals.results[pid]))
            for pid in chosen
            if pid in totals.results
        ]


    def _apply_call(self, call: RaceCall) -> ApplyResult:
        if call.race_id != self._race_id or call.election_id != self.definition.election_id:
            raise ValueError(f"call {call.call_id!r} is not of race {self._race_id!r}")
        current = self._calls.current
        if not self._calls.offer(call):
            status: Status = "duplicate" if current == call else "stale"
            return ApplyResult(status, False, (), self.version)
        self.version += 1
        self._view = None
        return ApplyResult("applied", True, self._call_check(call.call_id), self.version)

    def _call_check(self, event_id: str) -> tuple[Flag, ...]:
        """`call_disagrees` if the race is complete and the standing call says otherwise,
        unless this call and outcome were flagged already."""
        if self._totals.precincts_reporting < len(self.race.precincts):
            return ()
        call, outcome = self._calls.current, self.view()["outcome"]
        if call is None or outcome is None or not disagrees(call, outcome):
            self._disagreement = None
            return ()
        seen = (call.call_id, outcome["type"], tuple(outcome["candidate_ids"]))
        if seen == self._disagreement:
            return ()
        self._disagreement = seen
        figures: dict[str, int | str | None] = {
            "call_id": call.call_id,
            "call_type": call.type,
            "call_candidate_ids": ",".join(call.candidate_ids),
            "called_by": call.called_by,
            "called_at": call.called_at.isoformat(),
            "outcome_type": outcome["type"],
            "outcome_candidate_ids": ",".join(outcome["candidate_ids"]),
        }
        return (Flag("call_disagrees", self._race_id, None, None, event_id, figures),)

    @property
    def call(self) -> RaceCall | None:
        """The standing call of the race (a retraction included), or None."""
        return self._calls.current

    def reports(self) -> list[Report | RaceCall]:
        """Every surviving report and the standing call (what `to_dict` keeps), in no
        particular order: applying them to a fresh state rebuilds this one's figures."""
        found: list[Report | RaceCall] = list(self._book.reports())
        if self._calls.current is not None:
            found.append(self._calls.current)
        return found

    def raise_version(self, floor: int) -> None:
        """Make `version` at least `floor` (a version already published for this race,
        e.g. before a worker re-folded its partition); the figures stay as they are."""
        if floor > self.version:
            self.version = floor
            self._view = None
            self._totals.units.stamp(floor, every=True)

    def view(self) -> RaceView:
        """The current race view (cached until the next change; do not mutate)."""
        if self._view is None:
            self._view = render_race_view(
                self.definition, self.race, self._totals, self.version, self._calls.current
            )
        return self._view

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot; `from_dict` restores an equal state."""
        reports = sorted(self._book.reports(), key=lambda r: r.report_id)
        snapshot = {
            "race_id": self.race.race_id,
            "version": self.version,
            "counters": dict(self.counters),
            "reports": [encode_report(r) for r in reports],
        }
        if self._calls.current is not None:
            snapshot["call"] = encode_call(self._calls.current)
        return snapshot

    def to_bytes(self) -> bytes:
        """`dumps(self.to_dict())`, byte for byte, but each surviving report is
        encoded once in the state's life, not once per snapshot."""
        cache = self._encoded
        parts: list[bytes] = []
        for report in sorted(self._book.reports(), key=lambda r: r.report_id):
            hit = cache.get(report.report_id)
            if hit is None or hit[0] is not report:
                hit = cache[report.report_id] = (report, report_to_bytes(report))
            parts.append(hit[1])
        if len(cache) > len(parts):  # reports replaced under their id
            live = {r.report_id for r in self._book.reports()}
            for report_id in [k for k in cache if k not in live]:
                del cache[report_id]
        call = self._calls.current
        head = b'{"call":%b,' % dumps(encode_call(call)) if call is not None else b"{"
        return head + b'"counters":%b,"race_id":%b,"reports":[%b],"version":%d}' % (
            dumps(self.counters),
            dumps(self.race.race_id),
            b",".join(parts),
            self.version,
        )

    @classmethod
    def from_dict(cls, definition: ElectionDefinition, data: Mapping[str, Any]) -> RaceState:
        """Restore a snapshot made by `to_dict` (trusted input)."""
        state = cls(definition, data["race_id"])
        for obj in data["reports"]:
            offer = state._book.offer(decode_report_trusted(obj))
            for change in offer.changes:
                state._totals.replace(change.old, change.new)
        if data.get("call") is not None:
            state._calls.offer(decode_call_trusted(data["call"]))
        state.version = int(data["version"])
        state.counters.update(data["counters"])
        return state

    def _anomalies(self, report: Report) -> tuple[Flag, ...]:
        """Flags raised by `report`, which just became its slot's winner.

        A turnout figure is compared with the nearest reported marks before and
        after it (enough to catch any decrease in a series that was monotone),
        and, if it is the latest mark, with the precinct's result.
        """
        pid = report.precinct_id
        row = self._totals.turnout.get(pid)
        if row is None:
            return ()
        result = self._totals.results.get(pid)
        if type(report) is ResultReport:
            last = next((t for t in reversed(row) if t is not None), None)
            return _below_turnout(report, last, report.report_id)
        assert type(report) is TurnoutReport
        i = self._totals.mark_index[report.mark]
        flags: tuple[Flag, ...] = ()
        j = i - 1
        while j >= 0 and row[j] is None:
            j -= 1
        k = i + 1
        while k < len(row) and row[k] is None:
            k += 1
        earlier = row[j] if j >= 0 else None
        later = row[k] if k < len(row) else None
        if earlier is not None and earlier.ballots_cast > report.ballots_cast:
            flags += (_decrease(earlier, report, report.report_id),)
        if later is not None and later.ballots_cast < report.ballots_cast:
            flags += (_decrease(report, later, report.report_id),)
        if later is None and result is not None:
            flags += _below_turnout(result, report, report.report_id)
        return flags


def _decrease(early: TurnoutReport, late: TurnoutReport, report_id: str) -> Flag:
    figures: dict[str, int | str | None] = {
        "earlier_mark": early.mark,
        "earlier_ballots_cast": early.ballots_cast,
        "later_mark": late.mark,
        "later_ballots_cast": late.ballots_cast,
    }
    return Flag("turnout_decreased", late.race_id, late.precinct_id, late.mark, report_id, figures)


def _below_turnout(
    result: ResultReport, turnout: TurnoutReport | None, report_id: str
) -> tuple[Flag, ...]:
    if turnout is None or result.ballots_cast >= turnout.ballots_cast:
        return ()
    figures: dict[str, int | str | None] = {
        "result_ballots_cast": result.ballots_cast,
        "turnout_mark": turnout.mark,
        "turnout_ballots_cast": turnout.ballots_cast,
    }
    return (
        Flag(
            "result_below_turnout",
            result.race_id,
            result.precinct_id,
            turnout.mark,
            report_id,
            figures,
        ),
    )


def _conflict_flag(report: Report, rival: Report, kept: bool) -> Flag:
    """`report_id_conflict` (same id, other content) or `revision_conflict`."""
    mark = report.mark if isinstance(report, TurnoutReport) else None
    same_id = rival.report_id == report.report_id
    figures: dict[str, int | str | None] = {
        "revision": report.revision,
        "rival_report_id": rival.report_id,
        "rival_revision": rival.revision,
        "kept": "arriving" if kept else "existing",
    }
    code = "report_id_conflict" if same_id else "revision_conflict"
    return Flag(code, report.race_id, report.precinct_id, mark, report.report_id, figures)
