"""Region and national views as folds of race views.

A second stage can build them from race snapshots alone: `RegionRollup`
keeps the latest view per race (`put` replaces by race_id, so re-sending a
race view never double-counts) and `NationalRollup` the latest view per
region. Races or regions not heard from yet count as empty (not reporting),
so totals such as `precincts_total` and `registered` are right from the start.

Rollup definitions (contract v2):
- sums of the race figures: registered, registered_reporting, ballots_cast,
  precincts, invalid, against_all (0 for races without the line),
  `turnout_by_mark` per mark;
- `turnout_pct` = ballots_cast / registered_reporting;
- `votes_by_party`: candidate votes summed by party, sorted by votes desc then
  party; against-all and invalid stay separate; shares use `share_base`;
- `races_reporting` / `races_complete`: races with at least one / every
  precinct result; `outcomes`: complete races by outcome type;
  `against_all_races`: races with an against-all line (0: `against_all` is
  no line of any ballot here, and a reader should not show it);
- `seats_by_party`: seats of races decided with a `winner` outcome, by the
  winner's party, sorted by seats desc then party;
- `version` = sum of the parts' versions: it grows whenever a part changes.

Races spanning regions (`region_id` null) are counted where their precincts
are: each region view sums, beside its own races, the *part* of every
spanning race with precincts there (`race_units.RaceUnits.part`: registered,
ballots, precincts, turnout by mark, against-all, invalid, votes by party);
its race counts (`races_*`, `outcomes`, `seats_by_party`,
`against_all_races`) are the region's own races only. The national view sums
the regions and counts each spanning race once in its race counts (the
race's view, `put_spanning`); its version adds the spanning races' versions.
So national figures equal the sum over all races, each precinct counted in
one region, and no race is counted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from votewire.core.models import ElectionDefinition
from votewire.core.parties import party_lines
from votewire.core.percent import pct, reporting_pct
from votewire.core.race_state import RaceState
from votewire.core.race_units import empty_part
from votewire.core.views import (
    NationalView,
    PartView,
    PartyLine,
    RaceView,
    RegionView,
    RollupView,
    mark_lines,
)


class _Sums:
    def __init__(self, marks: int) -> None:
        self.version = self.registered = self.registered_reporting = self.ballots_cast = 0
        self.precincts_total = self.precincts_reporting = self.invalid = self.against_all = 0
        self.races_total = self.races_reporting = self.races_complete = 0
        self.against_all_races = 0
        self.mark_ballots = [0] * marks
        self.mark_registered = [0] * marks
        self.mark_precincts = [0] * marks
        self.outcomes: Counter[str] = Counter()
        self.seats: Counter[str] = Counter()
        self.party_votes: Counter[str] = Counter()

    def _common(self, v: RaceView | RollupView | PartView, sign: int = 1) -> None:
        self.version += sign * v["version"]
        self.registered += sign * v["registered"]
        self.registered_reporting += sign * v["registered_reporting"]
        self.ballots_cast += sign * v["ballots_cast"]
        self.precincts_total += sign * v["precincts_total"]
        self.precincts_reporting += sign * v["precincts_reporting"]
        self.invalid += sign * v["invalid"]["votes"]
        against_all = v["against_all"]
        self.against_all += sign * against_all["votes"] if against_all else 0
        ballots, registered = self.mark_ballots, self.mark_registered
        for i, line in enumerate(v["turnout_by_mark"]):
            ballots[i] += sign * line["ballots_cast"]
            registered[i] += sign * line["registered"]
            self.mark_precincts[i] += sign * line["precincts_reported"]

    def add_race(self, v: RaceView, sign: int = 1) -> None:
        """Count race view `v` in (sign 1) or, if it was counted, out again (sign -1)."""
        self._common(v, sign)
        self._race_counts(v, sign)
        for c in v["candidates"]:
            self.party_votes[c["party"]] += sign * c["votes"]

    def add_part(self, v: PartView, sign: int = 1) -> None:
        """Count a spanning race's part in a region (figures, no race counts) in or out."""
        self._common(v, sign)
        for c in v["candidates"]:
            self.party_votes[c["party"]] += sign * c["votes"]

    def add_spanning(self, v: RaceView, sign: int = 1) -> None:
        """Count a spanning race's race counts and version (its figures come with the
        regions' parts) in or out."""
        self.version += sign * v["version"]
        self._race_counts(v, sign)

    def _race_counts(self, v: RaceView, sign: int) -> None:
        self.races_total += sign
        self.races_reporting += sign * (v["status"] != "not_reporting")
        self.races_complete += sign * (v["status"] == "complete")
        self.against_all_races += sign * (v["against_all"] is not None)
        outcome = v["outcome"]
        if outcome is not None:
            _bump(self.outcomes, outcome["type"], sign)
            if outcome["type"] == "winner":
                party = {c["candidate_id"]: c["party"] for c in v["candidates"]}
                for cid in outcome["candidate_ids"]:
                    _bump(self.seats, party[cid], sign)

    def add_rollup(self, v: RollupView) -> None:
        self._common(v)
        self.races_total += v["races_total"]
        self.races_reporting += v["races_reporting"]
        self.races_complete += v["races_complete"]
        self.against_all_races += v["against_all_races"]
        self.outcomes.update(v["outcomes"])
        for s in v["seats_by_party"]:
            self.seats[s["party"]] += s["seats"]
        for p in v["votes_by_party"]:
            self.party_votes[p["party"]] += p["votes"]

    def rollup(self, definition: ElectionDefinition) -> RollupView:
        base = self.ballots_cast
        if definition.share_base == "valid":
            base = sum(self.party_votes.values()) + self.against_all
        parties: list[PartyLine] = [
            {"party": party, "votes": n, "pct": pct(n, base)}
            for party, n in sorted(self.party_votes.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return {
            "election_id": definition.election_id,
            "test": definition.test,
            "version": self.version,
            "share_base": definition.share_base,
            "registered": self.registered,
            "registered_reporting": self.registered_reporting,
            "ballots_cast": self.ballots_cast,
            "turnout_pct": pct(self.ballots_cast, self.registered_reporting),
            "precincts_total": self.precincts_total,
            "precincts_reporting": self.precincts_reporting,
            "precincts_reporting_pct": reporting_pct(
                self.precincts_reporting, self.precincts_total
            ),
            "races_total": self.races_total,
            "races_reporting": self.races_reporting,
            "races_complete": self.races_complete,
            "against_all_races": self.against_all_races,
            "outcomes": dict(sorted(self.outcomes.items())),
            "seats_by_party": [
                {"party": party, "seats": n}
                for party, n in sorted(self.seats.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "votes_by_party": parties,
            "against_all": {"votes": self.against_all, "pct": pct(self.against_all, base)},
            "invalid": {"votes": self.invalid, "pct": pct(self.invalid, self.ballots_cast)},
            "turnout_by_mark": mark_lines(
                definition.turnout_marks,
                self.mark_ballots,
                self.mark_registered,
                self.mark_precincts,
            ),
        }


def _bump(counter: Counter[str], key: str, by: int) -> None:
    """Add `by` to `counter[key]`; a count back at zero leaves no key (as if never counted)."""
    n = counter[key] + by
    if n:
        counter[key] = n
    else:
        del counter[key]


def region_view(
    definition: ElectionDefinition,
    region_id: str,
    race_views: Iterable[RaceView],
    parts: Iterable[PartView] = (),
) -> RegionView:
    """Fold the given race views (one per race of the region) and parts (one per race
    spanning regions with precincts there) into its view."""
    region = definition.region(region_id)
    if region is None:
        raise ValueError(f"unknown region {region_id!r}")
    sums = _Sums(len(definition.turnout_marks))
    for v in race_views:
        sums.add_race(v)
    for p in parts:
        sums.add_part(p)
    return {**sums.rollup(definition), "region_id": region_id, "name": region.name}


def national_view(
    definition: ElectionDefinition,
    region_views: Iterable[RegionView],
    spanning: Iterable[RaceView] = (),
) -> NationalView:
    """Fold the given region views (one per region) and the views of the races spanning
    regions (one per such race) into the national view."""
    sums = _Sums(len(definition.turnout_marks))
    regions = 0
    for v in region_views:
        sums.add_rollup(v)
        regions += 1
    for race in spanning:
        sums.add_spanning(race)
    return {
        **sums.rollup(definition),
        "name": definition.name,
        "date": definition.date,
        "regions_total": regions,
        "parties": party_lines(definition),
    }


class RegionRollup:
    """The latest race view per race of one region, and their fold.

    Incremental: `put` counts the old view of the race out and the new one in,
    so a put costs one race, not the region; `view()` equals `region_view` of
    the latest views (a unit property test holds it to that)."""

    def __init__(self, definition: ElectionDefinition, region_id: str) -> None:
        region = definition.region(region_id)
        if region is None:
            raise ValueError(f"unknown region {region_id!r}")
        self.definition = definition
        self.region_id = region_id
        self._name = region.name
        self._views: dict[str, RaceView] = {
            r.race_id: RaceState(definition, r.race_id).view()
            for r in definition.races_in(region_id)
        }
        self._parts: dict[str, PartView] = {
            r.race_id: empty_part(definition, r, region_id)
            for r in definition.spanning_in(region_id)
        }
        self._sums = _Sums(len(definition.turnout_marks))
        for v in self._views.values():
            self._sums.add_race(v)
        for p in self._parts.values():
            self._sums.add_part(p)
        self._view: RegionView | None = None

    def put_part(self, part: PartView) -> None:
        """Replace the part of `part["race_id"]` (a race spanning regions with precincts
        in this region)."""
        race_id = part["race_id"]
        old = self._parts.get(race_id)
        if old is None or part["region_id"] != self.region_id:
            raise ValueError(f"race {race_id!r} has no part in {self.region_id!r}")
        self._sums.add_part(old, -1)
        self._sums.add_part(part)
        self._parts[race_id] = part
        self._view = None

    def put(self, race_view: RaceView) -> None:
        """Replace the view of `race_view["race_id"]` (a race of this region)."""
        race_id = race_view["race_id"]
        old = self._views.get(race_id)
        if old is None:
            raise ValueError(f"race {race_id!r} is not in {self.region_id!r}")
        self._sums.add_race(old, -1)
        self._sums.add_race(race_view)
        self._views[race_id] = race_view
        self._view = None

    def view(self) -> RegionView:
        """The region view (cached until the next `put`; do not mutate)."""
        if self._view is None:
            rollup = self._sums.rollup(self.definition)
            self._view = {**rollup, "region_id": self.region_id, "name": self._name}
        return self._view


class NationalRollup:
    """The latest region view per region, and their fold."""

    def __init__(self, definition: ElectionDefinition) -> None:
        self.definition = definition
        self._views: dict[str, RegionView | None] = dict.fromkeys(
            r.region_id for r in definition.regions
        )
        self._spanning: dict[str, RaceView] = {
            r.race_id: RaceState(definition, r.race_id).view() for r in definition.spanning()
        }
        self._empty: dict[str, RegionView] = {}
        """The view of each region not heard from, built once (not on every `view`)."""
        self._view: NationalView | None = None

    def put_spanning(self, view: RaceView) -> None:
        """Replace the view of a race spanning regions (its race counts, `module doc`)."""
        if view["race_id"] not in self._spanning:
            raise ValueError(f"race {view['race_id']!r} does not span regions")
        self._spanning[view["race_id"]] = view
        self._view = None

    def put(self, view: RegionView) -> None:
        """Replace the view of `view["region_id"]`."""
        if view["region_id"] not in self._views:
            raise ValueError(f"unknown region {view['region_id']!r}")
        self._views[view["region_id"]] = view
        self._view = None

    def view(self) -> NationalView:
        """The national view (cached until the next `put`; do not mutate)."""
        if self._view is None:
            views = [
                v if v is not None else self._empty_view(region_id)
                for region_id, v in self._views.items()
            ]
            self._view = national_view(self.definition, views, self._spanning.values())
        return self._view

    def _empty_view(self, region_id: str) -> RegionView:
        found = self._empty.get(region_id)
        if found is None:
            found = self._empty[region_id] = RegionRollup(self.definition, region_id).view()
        return found
