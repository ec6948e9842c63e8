"""The election contract (v1) as immutable values.

These types are the vocabulary every part of votewire speaks: ingest validates
into them, the tally folds them, replay reads them back. They carry no I/O and
no wire format; `votewire.core.codec` is the one place that turns JSON into
these values and back.

Invariants that hold for every instance built by `codec`/`validation`
(constructors themselves do not re-check them):

- ids are non-empty strings, unique within their scope;
- counts are non-negative ints;
- `ResultReport.votes` has an entry for each candidate of the race (absent
  candidates are 0) and is never mutated after construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ShareBase = Literal["ballots_cast", "valid"]
"""Denominator of vote shares: all ballots cast (Kazakhstan), or valid ballots."""

WinnerRule = Literal["plurality", "majority"]
"""`plurality`: most votes wins. `majority`: more than half of ballots cast wins,
otherwise a runoff between the top two."""

AgainstAllRule = Literal["ignore", "repeat_election"]
"""What happens when against-all beats every candidate."""

ReportKind = Literal["turnout", "result"]


@dataclass(frozen=True, slots=True)
class Candidate:
    candidate_id: str
    name: str
    party: str


@dataclass(frozen=True, slots=True)
class Precinct:
    precinct_id: str
    name: str
    registered: int


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
    region_id: str
    office: str
    seats: int
    against_all: bool
    winner_rule: WinnerRule
    against_all_rule: AgainstAllRule
    candidates: tuple[Candidate, ...]
    precincts: tuple[Precinct, ...]

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

    _regions_by_id: dict[str, Region] = field(init=False, repr=False, compare=False)
    _races_by_id: dict[str, Race] = field(init=False, repr=False, compare=False)
    _precincts_by_race: dict[str, dict[str, Precinct]] = field(
        init=False, repr=False, compare=False
    )
    _races_by_region: dict[str, tuple[Race, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_region: dict[str, list[Race]] = {r.region_id: [] for r in self.regions}
        for race in self.races:
            by_region.setdefault(race.region_id, []).append(race)
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
        return self._races_by_region.get(region_id, ())

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
