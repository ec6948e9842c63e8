"""The election contract (v2, which reads every v1 definition) as immutable values.

These types are the vocabulary every part of votewire speaks: ingest validates
into them, the tally folds them, replay reads them back. They carry no I/O and
no wire format; `votewire.core.codec` is the one place that turns JSON into
these values and back.

Invariants that hold for every instance built by `codec`/`validation`
(constructors themselves do not re-check them):

- ids are non-empty strings, unique within their scope;
- counts are non-negative ints;
- `ResultReport.votes` has an entry for each candidate of the race (absent
  candidates are 0) and is never mutated after construction;
- with a party registry (`ElectionDefinition.parties` non-empty), every
  candidate's `party` is a registered `party_id`; without one (a v1
  definition) `party` is free text, and `votewire.core.parties` derives the
  registry from it;
- a precinct's `region_id` and `district_id`, when set, name a region and a
  district of the definition, and the district lies in the precinct's region;
  a race whose `region_id` is None (it spans regions) sets it on every precinct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ShareBase = Literal["ballots_cast", "valid"]
"""Denominator of vote shares: all ballots cast (Kazakhstan), or valid ballots."""

WinnerRule = Literal["plurality", "majority"]
"""`plurality`: most votes wins. `majority`: more than half of the race's
`majority_base` wins, otherwise a runoff between the top two."""

MajorityBase = Literal["ballots_cast", "valid"]
"""What a majority is measured against: all ballots cast (Kazakhstan's law:
against-all and invalid ballots count), or valid ballots (candidate votes +
against-all)."""

AgainstAllRule = Literal["ignore", "repeat_election"]
"""What happens when against-all beats every candidate."""

ReportKind = Literal["turnout", "result"]


@dataclass(frozen=True, slots=True)
class Party:
    """One entry of a definition's party registry."""

    party_id: str
    name: str
    short_name: str
    color: str | None = None
    """"#rrggbb", or None: a fallback colour is chosen (`votewire.core.parties`)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    candidate_id: str
    name: str
    party: str
    """A `party_id` of the registry; free text in a definition without one."""


@dataclass(frozen=True, slots=True)
class District:
    district_id: str
    region_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Precinct:
    precinct_id: str
    name: str
    registered: int
    region_id: str | None = None
    """None: the race's region (`ElectionDefinition.region_of`)."""
    district_id: str | None = None


@dataclass(frozen=True, slots=True)
class Region:
    region_id: str
    name: str
    timezone: str | None = None
    """IANA zone if the region differs from the election's default."""


@dataclass(frozen=True, slots=True)
class Race:
    race_id: str
    name: str
    region_id: str | None
    """None: the race spans regions; each precinct names its own."""
    office: str
    seats: int
    against_all: bool
    winner_rule: WinnerRule
    against_all_rule: AgainstAllRule
    candidates: tuple[Candidate, ...]
    precincts: tuple[Precinct, ...]
    majority_base: MajorityBase = "ballots_cast"
    """Only read by `majority` races (`votewire.core.outcome`)."""

    @property
    def registered(self) -> int:
        """Registered voters of the race per the definition."""
        return sum(p.registered for p in self.precincts)


@dataclass(frozen=True, slots=True)
class ElectionDefinition:
    """Everything known about an election before polls open.

    Lookups by id (`race`, `region`, `precinct`, ...) are O(1); the indexes are
    built once at construction.
    """

    election_id: str
    name: str
    date: str
    """ISO date of polling day, e.g. "2021-07-25"."""
    timezone: str
    """IANA zone of the election; regions may override it."""
    turnout_marks: tuple[str, ...]
    """Local clock times ("10:00", ...) at which cumulative turnout is reported, ascending."""
    share_base: ShareBase
    regions: tuple[Region, ...]
    races: tuple[Race, ...]
    test: bool = False
    """A rehearsal definition: its results must never be shown as real."""
    parties: tuple[Party, ...] = ()
    """The party registry; empty: none (a v1 definition)."""
    districts: tuple[District, ...] = ()

    _regions_by_id: dict[str, Region] = field(init=False, repr=False, compare=False)
    _races_by_id: dict[str, Race] = field(init=False, repr=False, compare=False)
    _precincts_by_race: dict[str, dict[str, Precinct]] = field(
        init=False, repr=False, compare=False
    )
    _races_by_region: dict[str | None, tuple[Race, ...]] = field(
        init=False, repr=False, compare=False
    )
    _race_regions: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _spanning_in: dict[str, tuple[Race, ...]] = field(init=False, repr=False, compare=False)
    _part_sizes: dict[tuple[str, str], tuple[int, int]] = field(
        init=False, repr=False, compare=False
    )
    _parties_by_id: dict[str, Party] = field(init=False, repr=False, compare=False)
    _districts_by_id: dict[str, District] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_region: dict[str | None, list[Race]] = {r.region_id: [] for r in self.regions}
        for race in self.races:
            by_region.setdefault(race.region_id, []).append(race)
        order = {r.region_id: i for i, r in enumerate(self.regions)}
        spans: dict[str, tuple[str, ...]] = {}
        for race in self.races:
            found = {g for p in race.precincts if (g := p.region_id or race.region_id)}
            spans[race.race_id] = tuple(sorted(found, key=lambda g: (order.get(g, len(order)), g)))
        object.__setattr__(self, "_race_regions", spans)
        spanning: dict[str, list[Race]] = {}
        sizes: dict[tuple[str, str], tuple[int, int]] = {}
        for race in self.races:
            if race.region_id is not None:
                continue
            for p in race.precincts:
                if p.region_id is None:
                    continue  # never in a decoded definition
                n, registered = sizes.get((race.race_id, p.region_id), (0, 0))
                sizes[(race.race_id, p.region_id)] = (n + 1, registered + p.registered)
            for g in spans[race.race_id]:
                spanning.setdefault(g, []).append(race)
        object.__setattr__(self, "_spanning_in", {g: tuple(v) for g, v in spanning.items()})
        object.__setattr__(self, "_part_sizes", sizes)
        object.__setattr__(self, "_parties_by_id", {p.party_id: p for p in self.parties})
        object.__setattr__(self, "_districts_by_id", {d.district_id: d for d in self.districts})
        object.__setattr__(self, "_regions_by_id", {r.region_id: r for r in self.regions})
        object.__setattr__(self, "_races_by_id", {r.race_id: r for r in self.races})
        object.__setattr__(
            self,
            "_precincts_by_race",
            {r.race_id: {p.precinct_id: p for p in r.precincts} for r in self.races},
        )
        object.__setattr__(self, "_races_by_region", {k: tuple(v) for k, v in by_region.items()})

    def region(self, region_id: str) -> Region | None:
        return self._regions_by_id.get(region_id)

    def race(self, race_id: str) -> Race | None:
        return self._races_by_id.get(race_id)

    def precinct(self, race_id: str, precinct_id: str) -> Precinct | None:
        return self._precincts_by_race.get(race_id, {}).get(precinct_id)

    def races_in(self, region_id: str) -> tuple[Race, ...]:
        """The races whose `region_id` is `region_id` (a race spanning regions is in none;
        `race_regions` tells where its precincts are)."""
        return self._races_by_region.get(region_id, ())

    def spanning_in(self, region_id: str) -> tuple[Race, ...]:
        """The races spanning regions (`region_id` null) with precincts in `region_id`, in
        definition order: their part there counts in the region's view (`rollup`)."""
        return self._spanning_in.get(region_id, ())

    def spanning(self) -> tuple[Race, ...]:
        """Every race spanning regions, in definition order."""
        return self._races_by_region.get(None, ())

    def part_size(self, race_id: str, region_id: str) -> tuple[int, int]:
        """(precincts, registered voters per the definition) of a spanning race's part in
        `region_id`; (0, 0) where it has none."""
        return self._part_sizes.get((race_id, region_id), (0, 0))

    def race_regions(self, race_id: str) -> tuple[str, ...]:
        """The regions the race's precincts are in (each precinct's `region_of`), in the
        definition's region order: one for a race of one region, several for a race
        spanning regions; () for an unknown race."""
        return self._race_regions.get(race_id, ())

    @staticmethod
    def region_of(race: Race, precinct: Precinct) -> str:
        """The precinct's region: its own `region_id`, else its race's. `ValueError` if
        neither is set (never in a decoded definition: a spanning race needs it per precinct)."""
        region_id = precinct.region_id or race.region_id
        if region_id is None:
            raise ValueError(f"precinct {precinct.precinct_id!r} of {race.race_id!r} has no region")
        return region_id

    def party(self, party_id: str) -> Party | None:
        """The registry entry, or None (no registry, or not registered)."""
        return self._parties_by_id.get(party_id)

    def district(self, district_id: str) -> District | None:
        return self._districts_by_id.get(district_id)

    def timezone_of(self, region_id: str) -> str:
        region = self.region(region_id)
        return region.timezone if region and region.timezone else self.timezone


@dataclass(frozen=True, slots=True)
class TurnoutReport:
    """Cumulative ballots cast in one precinct by one turnout mark."""

    report_id: str
    election_id: str
    race_id: str
    precinct_id: str
    mark: str
    ballots_cast: int
    revision: int
    reported_at: datetime
    """Timezone-aware time the commission sent the report."""

    kind: Literal["turnout"] = "turnout"


@dataclass(frozen=True, slots=True)
class ResultReport:
    """A precinct's final protocol."""

    report_id: str
    election_id: str
    race_id: str
    precinct_id: str
    registered: int
    ballots_cast: int
    votes: Mapping[str, int]
    """candidate_id -> votes; read-only by contract."""
    against_all: int
    invalid: int
    revision: int
    reported_at: datetime

    kind: Literal["result"] = "result"


Report = TurnoutReport | ResultReport

SlotKey = tuple[str, str, str, str]
"""(race_id, precinct_id, kind, mark): the unit a revision replaces.
`mark` is "" for results."""


def slot_key(report: Report) -> SlotKey:
    """The slot a report fills: the highest revision per slot wins."""
    mark = report.mark if isinstance(report, TurnoutReport) else ""
    return (report.race_id, report.precinct_id, report.kind, mark)
