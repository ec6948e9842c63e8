"""The whole-election tally: the facade for offline replay, tests and the CLI.

`ElectionTally(definition)` routes each validated report to its race's
`RaceState` and keeps region and national views current through the same
folds (`votewire.core.rollup`) the stream's second stage uses, so an offline
replay and the live pipeline publish identical figures.

Contract:
- `apply(report)` never raises for a report validated against `definition`
  (a report of an unknown race raises `ValueError`);
- the views are a function of the *set* of reports applied (order and
  repetition do not matter); only `version` fields count changes;
- views are computed lazily: a race view is rebuilt only after that race
  changed, a region view only after one of its races did;
- `flags` accumulates every flag raised, in arrival order; `counters` counts
  reports by status (race calls, which `apply` takes too, are not counted).
"""

from __future__ import annotations

from votewire.core.models import ElectionDefinition, Report
from votewire.core.race_call import RaceCall
from votewire.core.race_state import STATUSES, ApplyResult, Flag, RaceState
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.views import NationalView, RaceView, RegionView, Views

__all__ = ["ApplyResult", "ElectionTally", "Flag", "RaceState"]


class ElectionTally:
    """All races of one election, folded; see the module doc."""

    def __init__(self, definition: ElectionDefinition) -> None:
        self.definition = definition
        self.races = {r.race_id: RaceState(definition, r.race_id) for r in definition.races}
        self._regions = {
            r.region_id: RegionRollup(definition, r.region_id) for r in definition.regions
        }
        self._national = NationalRollup(definition)
        self._dirty: set[str] = set()
        self.flags: list[Flag] = []
        self.counters: dict[str, int] = dict.fromkeys(STATUSES, 0)

    def apply(self, report: Report | RaceCall) -> ApplyResult:
        """Fold one validated report or call; see `RaceState.apply` for the statuses."""
        state = self.races.get(report.race_id)
        if state is None:
            raise ValueError(f"unknown race {report.race_id!r}")
        result = state.apply(report)
        if type(report) is not RaceCall:
            self.counters[result.status] += 1
        if result.flags:
            self.flags.extend(result.flags)
        if result.changed:
            self._dirty.add(report.race_id)
        return result

    def race_view(self, race_id: str) -> RaceView:
        """The view of one race; `KeyError` if unknown."""
        return self.races[race_id].view()

    def region_view(self, region_id: str) -> RegionView:
        """The view of one region; `KeyError` if unknown."""
        self._flush()
        return self._regions[region_id].view()

    def national_view(self) -> NationalView:
        self._flush()
        return self._national.view()

    def views(self) -> Views:
        """Every view: `{"national": ..., "regions": {id: ...}, "races": {id: ...}}`."""
        self._flush()
        return {
            "national": self._national.view(),
            "regions": {rid: rollup.view() for rid, rollup in self._regions.items()},
            "races": {rid: state.view() for rid, state in self.races.items()},
        }

    def _flush(self) -> None:
        """Push changed race views into their regions, changed regions into the nation."""
        if not self._dirty:
            return
        regions: set[str] = set()
        for race_id in self._dirty:
            state = self.races[race_id]
            region_id = state.race.region_id
            if region_id is None:
                # A race spanning regions: its parts count where its precincts are, its
                # race counts once nationally (`core.rollup`). Every part heard of (a
                # few dozen at most), not the changed ones: the state's record of those
                # belongs to whoever publishes it.
                for part in state.region_parts(every=True):
                    self._regions[part["region_id"]].put_part(part)
                    regions.add(part["region_id"])
                self._national.put_spanning(state.view())
                continue
            self._regions[region_id].put(state.view())
            regions.add(region_id)
        for region_id in regions:
            self._national.put(self._regions[region_id].view())
        self._dirty.clear()
