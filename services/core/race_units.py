"""A race's totals per reporting unit (region, district): where readers live.

A presidential race is read region by region ("who leads in Almaty region,
how many stations there have reported"). `RaceUnits` keeps, for one race,
the sums of its slot-winning results per unit its precincts belong to:

- `region`: the precinct's `region_id`, else its race's;
- `district`: the precinct's `district_id`, when it has one.

Contract:
- `account(result, sign)` adds (1) or removes (-1) one winning result and
  costs O(candidates) per unit of its precinct (two at most): never the size
  of the race or of the unit;
- the totals are a function of the set of winners, like `RaceTotals` (they
  are updated by the same swaps), so any order and repetition of reports
  gives the same units;
- `changed()` returns and clears the units touched since the last call (what
  a stage republishes after a batch); `reporting()` the units with a result
  (what a fold from scratch publishes: the same set, unless a report-id
  conflict took a unit's only result away); `view(unit)` renders one unit's
  document (O(candidates)).

Unit document (`UnitView`): `{"level", "unit_id", "name", "region_id",
"precincts_total", "precincts_reporting", "precincts_reporting_pct",
"registered", "ballots_cast", "turnout_pct", "candidates": [{"candidate_id",
"votes", "pct"}], "against_all", "invalid", "leader", "version"}`; shares are
of the unit's ballots cast (`pct`), the leader is the candidate with most
votes (ties: definition order), None before any result. `region_id` is the
region the unit lies in (a region's is its own id; a district's, the region
of its precincts), so a reader can group districts under their region
without the definition. `precincts_reporting_pct` follows the race view's
rule (`percent.reporting_pct`: never a false "0" or "100"). `registered` is
the definition's figure over the unit's precincts, replaced by a result's
own figure where one reported.

Parts of a race spanning regions (`region_id` null): what the race adds to
the view of each region its precincts are in (`core.rollup`). `part(g)` is a
`PartView`: the region unit's sums plus its turnout by mark (turnout
reports are counted per region for such races only, `account_turnout`),
candidates with their parties, versioned by the race version at the part's
own last change (a result or a turnout figure there); `parts(every)` returns
and clears the parts changed since the last call. O(candidates + marks) per
report, like the units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from votewire.core.models import ElectionDefinition, Race, ResultReport
from votewire.core.percent import pct, reporting_pct
from votewire.core.views import PartView, mark_lines

Level = Literal["region", "district"]
LEVELS: tuple[Level, ...] = ("region", "district")
Unit = tuple[Level, str]


@dataclass(slots=True)
class _Sums:
    name: str
    region_id: str
    precincts_total: int = 0
    registered_defined: int = 0
    registered_delta: int = 0
    precincts_reporting: int = 0
    ballots_cast: int = 0
    registered_reporting: int = 0
    against_all: int = 0
    invalid: int = 0
    votes: dict[str, int] = field(default_factory=dict)


def units_of(definition: ElectionDefinition, race: Race) -> dict[str, tuple[Unit, ...]]:
    """precinct_id -> the units it belongs to (its region, and its district if any)."""
    out: dict[str, tuple[Unit, ...]] = {}
    for p in race.precincts:
        units: list[Unit] = [("region", definition.region_of(race, p))]
        if p.district_id:
            units.append(("district", p.district_id))
        out[p.precinct_id] = tuple(units)
    return out


class RaceUnits:
    """See the module doc."""

    __slots__ = (
        "_changed", "_marks", "_of", "_part_versions", "_parts_changed", "_parts_unstamped",
        "_spanning", "_sums", "_unstamped", "_versions", "defined", "definition", "race",
    )  # fmt: skip

    def __init__(self, definition: ElectionDefinition, race: Race) -> None:
        self.definition = definition
        self.race = race
        self._of = units_of(definition, race)
        self.defined = {p.precinct_id: p.registered for p in race.precincts}
        self._sums: dict[Unit, _Sums] = {}
        candidates = [c.candidate_id for c in race.candidates]
        for p in race.precincts:
            found = self._of[p.precinct_id]
            region_id = found[0][1]  # units_of lists the precinct's region first
            for unit in found:
                sums = self._sums.get(unit)
                if sums is None:
                    sums = self._sums[unit] = _Sums(
                        _unit_name(definition, unit), region_id, votes=dict.fromkeys(candidates, 0)
                    )
                sums.precincts_total += 1
                sums.registered_defined += p.registered
        self._changed: set[Unit] = set()
        self._unstamped: set[Unit] = set()
        self._versions: dict[Unit, int] = {}
        """The race version at which each unit's totals last changed (its view's version)."""
        marks = len(definition.turnout_marks)
        self._spanning = race.region_id is None
        self._marks: dict[str, tuple[list[int], list[int], list[int]]] = {
            g: ([0] * marks, [0] * marks, [0] * marks)
            for g in (definition.race_regions(race.race_id) if self._spanning else ())
        }
        """Spanning races only: per region, (ballots, registered, precincts) per mark."""
        self._parts_changed: set[str] = set()
        self._parts_unstamped: set[str] = set()
        self._part_versions: dict[str, int] = {}

    def stamp(self, version: int, every: bool = False) -> None:
        """Give the units changed since the last stamp (`every`: all units) `version`: the
        race's version after the change (a unit's view is versioned by its own changes,
        so a pure fold and the live fold give it the same version)."""
        for unit in self._sums if every else self._unstamped:
            self._versions[unit] = version
        self._unstamped.clear()
        for g in list(self._part_versions) if every else self._parts_unstamped:
            self._part_versions[g] = version
        self._parts_unstamped.clear()

    def unchanged(self) -> None:
        """The touches since the last stamp left the figures as they were (a winner
        replaced by one with the same figures): the units keep their versions."""
        self._unstamped.clear()
        self._parts_unstamped.clear()

    def units(self, level: Level) -> list[Unit]:
        """Every unit of `level` the race's precincts are in, in first-precinct order."""
        return [u for u in self._sums if u[0] == level]

    def reporting(self) -> list[Unit]:
        """The units with at least one result, regions first: what a fold publishes."""
        sums = self._sums
        return [u for level in LEVELS for u in self.units(level) if sums[u].precincts_reporting]

    def account(self, report: ResultReport, sign: int) -> None:
        """Add (`sign` 1) or subtract (-1) one slot-winning result."""
        for unit in self._of.get(report.precinct_id, ()):
            s = self._sums[unit]
            s.precincts_reporting += sign
            s.ballots_cast += sign * report.ballots_cast
            s.registered_reporting += sign * report.registered
            s.registered_delta += sign * (report.registered - self.defined[report.precinct_id])
            s.against_all += sign * report.against_all
            s.invalid += sign * report.invalid
            votes = s.votes
            for cid, n in report.votes.items():
                votes[cid] += sign * n
            self._changed.add(unit)
            self._unstamped.add(unit)
        if self._spanning:
            g = self._of[report.precinct_id][0][1]  # its region (units_of lists it first)
            self._parts_changed.add(g)
            self._parts_unstamped.add(g)

    def account_turnout(self, precinct_id: str, mark: int, ballots: int, sign: int) -> None:
        """Add (`sign` 1) or subtract (-1) one winning turnout figure of mark index `mark`
        to its region's part (races spanning regions; other races ignore it)."""
        if not self._spanning:
            return
        g = self._of[precinct_id][0][1]
        ballots_by_mark, registered, precincts = self._marks[g]
        ballots_by_mark[mark] += sign * ballots
        registered[mark] += sign * self.defined[precinct_id]
        precincts[mark] += sign
        self._parts_changed.add(g)
        self._parts_unstamped.add(g)

    def parts(self, every: bool = False) -> list[PartView]:
        """The `part` documents changed since the last call (then forgotten; `every`: of
        every region where the race was ever heard from, a result or a turnout figure).
        Empty for a race of one region."""
        found = list(self._part_versions) if every else list(self._parts_changed)
        self._parts_changed.clear()
        return [self.part(g) for g in found if g in self._part_versions]

    def part(self, region_id: str) -> PartView:
        """A spanning race's part in `region_id` (see the module doc): the fields a region
        view sums (`core.rollup`), with `"part": true`."""
        s = self._sums[("region", region_id)]
        ballots, registered, precincts = self._marks[region_id]
        return {
            "part": True,
            "election_id": self.definition.election_id,
            "race_id": self.race.race_id,
            "region_id": region_id,
            "version": self._part_versions.get(region_id, 0),
            "precincts_total": s.precincts_total,
            "precincts_reporting": s.precincts_reporting,
            "registered": s.registered_defined + s.registered_delta,
            "registered_reporting": s.registered_reporting,
            "ballots_cast": s.ballots_cast,
            "candidates": [
                {"candidate_id": c.candidate_id, "party": c.party, "votes": s.votes[c.candidate_id]}
                for c in self.race.candidates
            ],
            "against_all": {"votes": s.against_all} if self.race.against_all else None,
            "invalid": {"votes": s.invalid},
            "turnout_by_mark": mark_lines(
                self.definition.turnout_marks, ballots, registered, precincts
            ),
        }

    def changed(self) -> list[Unit]:
        """The units touched since the last call (then forgotten), in no set order."""
        found = list(self._changed)
        self._changed.clear()
        return found

    def view(self, unit: Unit) -> dict[str, Any]:
        """The unit's document (see the module doc), at the version of its last change."""
        s = self._sums[unit]
        version = self._versions.get(unit, 0)
        order = [c.candidate_id for c in self.race.candidates]
        leader = None
        if s.precincts_reporting:
            leader = max(order, key=lambda cid: (s.votes[cid], -order.index(cid)))
        return {
            "level": unit[0],
            "unit_id": unit[1],
            "name": s.name,
            "region_id": s.region_id,
            "race_id": self.race.race_id,
            "version": version,
            "precincts_total": s.precincts_total,
            "precincts_reporting": s.precincts_reporting,
            "precincts_reporting_pct": reporting_pct(s.precincts_reporting, s.precincts_total),
            "registered": s.registered_defined + s.registered_delta,
            "ballots_cast": s.ballots_cast,
            "turnout_pct": pct(s.ballots_cast, s.registered_reporting),
            "candidates": [
                {"candidate_id": c, "votes": s.votes[c], "pct": pct(s.votes[c], s.ballots_cast)}
                for c in order
            ],
            "against_all": {"votes": s.against_all, "pct": pct(s.against_all, s.ballots_cast)}
            if self.race.against_all
            else None,
            "invalid": {"votes": s.invalid, "pct": pct(s.invalid, s.ballots_cast)},
            "leader": leader,
        }


def empty_part(definition: ElectionDefinition, race: Race, region_id: str) -> PartView:
    """`RaceUnits.part(region_id)` of a race nothing was heard from (built from the
    definition alone, O(candidates + marks))."""
    precincts, registered = definition.part_size(race.race_id, region_id)
    zeros = [0] * len(definition.turnout_marks)
    return {
        "part": True,
        "election_id": definition.election_id,
        "race_id": race.race_id,
        "region_id": region_id,
        "version": 0,
        "precincts_total": precincts,
        "precincts_reporting": 0,
        "registered": registered,
        "registered_reporting": 0,
        "ballots_cast": 0,
        "candidates": [
            {"candidate_id": c.candidate_id, "party": c.party, "votes": 0} for c in race.candidates
        ],
        "against_all": {"votes": 0} if race.against_all else None,
        "invalid": {"votes": 0},
        "turnout_by_mark": mark_lines(definition.turnout_marks, zeros, zeros, zeros),
    }


def _unit_name(definition: ElectionDefinition, unit: Unit) -> str:
    level, unit_id = unit
    if level == "region":
        region = definition.region(unit_id)
        return region.name if region is not None else unit_id
    district = definition.district(unit_id)
    return district.name if district is not None else unit_id
