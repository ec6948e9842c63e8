"""Running sums of one race over its slot winners.

`RaceTotals` is updated by swapping slot winners (`replace(old, new)`), so
each update costs O(candidates) whatever the race size. It also keeps, per
precinct, the winning result and the winning turnout figure per mark, which
the anomaly checks (`RaceState` flags) read.

Sums (all exact ints):
- `registered`: per precinct, the result's `registered` if a result won the
  slot, else the definition's figure; `registered_reporting`: the same over
  precincts with a result only;
- `ballots_cast`, `votes`, `against_all`, `invalid`: over results;
- per turnout mark i: `mark_ballots[i]` and `mark_registered[i]` (the
  definition's `registered`) over the precincts that reported mark i, and
  `mark_precincts[i]` their number.
"""

from __future__ import annotations

from votewire.core.models import ElectionDefinition, Race, Report, ResultReport, TurnoutReport
from votewire.core.race_units import RaceUnits


class RaceTotals:
    __slots__ = (
        "against_all", "ballots_cast", "defined", "invalid", "mark_ballots", "mark_index",
        "mark_precincts", "mark_registered", "precincts_reporting", "registered",
        "registered_reporting", "results", "results_changed", "turnout", "units", "votes",
    )  # fmt: skip

    def __init__(self, definition: ElectionDefinition, race: Race) -> None:
        marks = definition.turnout_marks
        self.defined = {p.precinct_id: p.registered for p in race.precincts}
        self.mark_index = {m: i for i, m in enumerate(marks)}
        self.registered = race.registered
        self.registered_reporting = 0
        self.ballots_cast = 0
        self.votes = {c.candidate_id: 0 for c in race.candidates}
        self.against_all = 0
        self.invalid = 0
        self.precincts_reporting = 0
        self.mark_ballots = [0] * len(marks)
        self.mark_registered = [0] * len(marks)
        self.mark_precincts = [0] * len(marks)
        self.results: dict[str, ResultReport] = {}
        """precinct_id -> winning result."""
        self.turnout: dict[str, list[TurnoutReport | None]] = {}
        """precinct_id -> winning turnout report per mark index (None: not reported)."""
        self.results_changed: set[str] = set()
        """Precincts whose winning result changed since the owner last drained this."""
        self.units = RaceUnits(definition, race)
        """The same sums per reporting unit (region, district) of the race's precincts."""

    def replace(self, old: Report | None, new: Report | None) -> None:
        """Swap one slot's winner: subtract `old`, add `new` (either may be None)."""
        if old is not None:
            self.account(old, -1)
        if new is not None:
            self.account(new, 1)

    def account(self, report: Report, sign: int) -> None:
        """Add (`sign` 1) or subtract (-1) one slot winner."""
        pid = report.precinct_id
        if type(report) is ResultReport:
            self.registered += sign * (report.registered - self.defined[pid])
            self.registered_reporting += sign * report.registered
            self.ballots_cast += sign * report.ballots_cast
            votes = self.votes
            for cid, n in report.votes.items():
                votes[cid] += sign * n
            self.against_all += sign * report.against_all
            self.invalid += sign * report.invalid
            self.precincts_reporting += sign
            if sign > 0:
                self.results[pid] = report
            else:
                del self.results[pid]
            self.units.account(report, sign)
            self.results_changed.add(pid)
            return
        assert type(report) is TurnoutReport
        i = self.mark_index[report.mark]
        self.mark_ballots[i] += sign * report.ballots_cast
        self.mark_registered[i] += sign * self.defined[pid]
        self.mark_precincts[i] += sign
        row = self.turnout.get(pid)
        if row is None:
            row = self.turnout[pid] = [None] * len(self.mark_index)
        row[i] = report if sign > 0 else None
        self.units.account_turnout(pid, i, report.ballots_cast, sign)
