"""The Kazakhstan 2021 rural akim elections as a votewire definition and its truth.

`kz2021_scenario(seed, scale)` builds, deterministically for a seed:

- the `ElectionDefinition` (`kz2021_definition`): election
  `kz-2021-rural-akims` on 2021-07-25 in `Asia/Almaty` (UTC+6 in 2021), the
  five western regions in their own UTC+5 zones; turnout marks every two
  hours from 10:00 to 20:00 local; shares of all ballots cast. 14 regions,
  one race per akim elected (730), 1,847 precincts, every race with at least
  one. Each race elects one akim by plurality, with an against-all line whose
  rule is `ignore` (a choice of this simulation: the sources do not say what
  an against-all majority would have done). Registered voters per precinct
  sum exactly to each region's published figure. The party registry
  (`PARTIES`) names the nominating parties as published (Nur Otan, Auyl,
  People's Party of Kazakhstan, Ak Zhol, Adal, NSDP) plus the self-nominated;
  candidates' `party` is a `party_id` of it. The colours are this
  simulation's choice, distinct on screen (the sources publish none).
- the final protocol of every precinct (`Scenario.protocols`), the truth the
  night simulator reports: per region the published ballots cast and akims
  per party, and Akmola's published votes per party, against-all and invalid
  ballots, all exact.

Precincts per region: one per race, the other 1,117 shared out in proportion
to registered voters. Per-race precinct counts, precinct sizes, turnout and
votes are random within those totals (see `protocols`, `candidacy`,
`votes`). With `scale` N > 1 there are N times the races, precincts,
candidates, voters, ballots and akims per party, for larger synthetic
nights; only scale 1 reproduces the published tables.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from votewire.core.models import Candidate, ElectionDefinition, Party, Precinct, Race, Region
from votewire.core.scenario.apportion import apportion
from votewire.core.scenario.candidacy import candidate_counts, plan_winners, seat_candidates
from votewire.core.scenario.names import NameBook
from votewire.core.scenario.protocols import Protocol, split_ballots, split_spoilt, split_votes
from votewire.core.scenario.reference import (
    AGAINST_ALL,
    INVALID,
    PARTY_IDS,
    PARTY_NAMES,
    CandidateFigures,
    Reference,
    RegionFigures,
    load_reference,
)
from votewire.core.scenario.votes import RaceBallot, race_votes

__all__ = [
    "ELECTION_ID",
    "NATIONAL_PRECINCTS",
    "PARTIES",
    "REGION_TIMEZONES",
    "TURNOUT_MARKS",
    "VOTES_REGION",
    "Scenario",
    "kz2021_definition",
    "kz2021_scenario",
]

ELECTION_ID = "kz-2021-rural-akims"
ELECTION_NAME = "Kazakhstan: direct elections of rural akims, 25 July 2021"
ELECTION_DATE = "2021-07-25"
ELECTION_TIMEZONE = "Asia/Almaty"
TURNOUT_MARKS = ("10:00", "12:00", "14:00", "16:00", "18:00", "20:00")
NATIONAL_PRECINCTS = 1847
REGION_TIMEZONES: Mapping[str, str] = MappingProxyType(
    {
        "aktobe": "Asia/Aqtobe",
        "atyrau": "Asia/Atyrau",
        "mangystau": "Asia/Aqtau",
        "west_kazakhstan": "Asia/Oral",
        "kyzylorda": "Asia/Qyzylorda",
    }
)
"""Regions on UTC+5 in 2021; the others follow the election's zone (UTC+6)."""
_SHORT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "nur_otan": "Nur Otan",
        "auyl": "Auyl",
        "peoples_party": "People's Party",
        "ak_zhol": "Ak Zhol",
        "adal": "Adal",
        "nsdp": "NSDP",
        "independent": "Independent",
    }
)
_COLORS: Mapping[str, str] = MappingProxyType(
    {
        "nur_otan": "#1f8fd6",
        "auyl": "#2e9e44",
        "peoples_party": "#c8102e",
        "ak_zhol": "#e0a800",
        "adal": "#7b3f9e",
        "nsdp": "#f07c00",
        "independent": "#7d868f",
    }
)
PARTIES: tuple[Party, ...] = tuple(
    Party(p, PARTY_NAMES[p], _SHORT_NAMES[p], _COLORS[p]) for p in PARTY_IDS
)
"""The definition's party registry, in the order of the candidate table."""
VOTES_REGION = "akmola"
"""The one region whose votes by party were published."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A generated election: its definition and the truth its night reports."""

    seed: int
    scale: int
    definition: ElectionDefinition
    protocols: tuple[Protocol, ...]
    """Final figures per precinct, in the definition's race and precinct order."""
    winners: Mapping[str, str]
    """race_id -> the candidate_id who wins it once every protocol is in."""


def kz2021_definition(seed: int = 2021, scale: int = 1) -> ElectionDefinition:
    """The election definition of `kz2021_scenario(seed, scale)`."""
    return kz2021_scenario(seed, scale).definition


@lru_cache(maxsize=8)
def kz2021_scenario(seed: int = 2021, scale: int = 1) -> Scenario:
    """Build the scenario; the same (seed, scale) always gives an equal one.

    Cached (the value is immutable). Raises `ValueError` if `scale` < 1.
    """
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    ref = load_reference()
    extra = apportion(
        (NATIONAL_PRECINCTS - sum(r.akims_elected for r in ref.regions)) * scale,
        [r.registered for r in ref.regions],
    )
    races: list[Race] = []
    protocols: list[Protocol] = []
    winners: dict[str, str] = {}
    for figures, more in zip(ref.regions, extra, strict=True):
        builder = _RegionBuilder(ref, figures, seed, scale)
        region_races, region_protocols, region_winners = builder.build(
            figures.akims_elected * scale + more
        )
        races.extend(region_races)
        protocols.extend(region_protocols)
        winners.update(region_winners)
    definition = ElectionDefinition(
        election_id=ELECTION_ID,
        name=ELECTION_NAME,
        date=ELECTION_DATE,
        timezone=ELECTION_TIMEZONE,
        turnout_marks=TURNOUT_MARKS,
        share_base="ballots_cast",
        regions=tuple(
            Region(r.region_id, r.name, REGION_TIMEZONES.get(r.region_id)) for r in ref.regions
        ),
        races=tuple(races),
        parties=PARTIES,
    )
    return Scenario(seed, scale, definition, tuple(protocols), MappingProxyType(winners))


@dataclass(frozen=True, slots=True)
class _Layout:
    """One region's precincts: index ranges per race, figures per precinct."""

    spans: list[range]
    registered: list[int]
    ballots: list[int]
    against: list[int]
    invalid: list[int]
    valid: list[int]


class _RegionBuilder:
    """One region's races, precincts, candidates and protocols."""

    def __init__(self, ref: Reference, figures: RegionFigures, seed: int, scale: int) -> None:
        self.figures = figures
        self.scale = scale
        self.cands: CandidateFigures = ref.candidates[figures.region_id]
        self.rng = random.Random(f"kz2021:{seed}:{scale}:{figures.region_id}")
        self.names = NameBook(figures.region_id, random.Random(f"names:{seed}:{figures.region_id}"))
        self.targets: dict[str, int] | None = None
        if figures.region_id == VOTES_REGION:
            self.targets = {p: 0 for p in PARTY_IDS}
            self.targets.update({c.choice: c.votes * scale for c in ref.akmola_votes})
        self.first_number = self.rng.randrange(1, 9) * 100  # of the first polling station

    def _spoilt_totals(self, ballots: int) -> tuple[int, int]:
        if self.targets is not None:
            return self.targets[AGAINST_ALL], self.targets[INVALID]
        return (
            round(ballots * self.rng.uniform(0.025, 0.07)),
            round(ballots * self.rng.uniform(0.012, 0.04)),
        )

    def build(self, n_precincts: int) -> tuple[list[Race], list[Protocol], dict[str, str]]:
        """The region's races, its precincts' protocols and race_id -> winner."""
        fig, s = self.figures, self.scale
        layout = self._layout(n_precincts)
        valid_by_race = [sum(layout.valid[p] for p in span) for span in layout.spans]
        akims = {p: fig.akims_by_party[p] * s for p in PARTY_IDS}
        counts = candidate_counts(akims, {p: self.cands.by_party[p] * s for p in PARTY_IDS})
        parties_won = plan_winners(valid_by_race, akims, counts, self.targets, self.rng)
        seats = seat_candidates(parties_won, valid_by_race, counts, self.rng)
        races: list[Race] = []
        ballots: list[RaceBallot] = []
        for r, span in enumerate(layout.spans):
            race, winner = self._race(r, seats[r], span, layout)
            races.append(race)
            parties = tuple(c.party for c in race.candidates)
            ballots.append(RaceBallot(race.race_id, valid_by_race[r], parties, winner))
        totals = race_votes(ballots, self.targets, self.rng)
        protocols: list[Protocol] = []
        winners: dict[str, str] = {}
        for race, span, ballot in zip(races, layout.spans, ballots, strict=True):
            winners[race.race_id] = race.candidates[ballot.winner].candidate_id
            rows = split_votes([layout.valid[p] for p in span], totals[race.race_id], self.rng)
            for precinct, p, row in zip(race.precincts, span, rows, strict=True):
                votes = {c.candidate_id: v for c, v in zip(race.candidates, row, strict=True)}
                protocols.append(
                    Protocol(
                        race.race_id,
                        precinct.precinct_id,
                        layout.registered[p],
                        layout.ballots[p],
                        MappingProxyType(votes),
                        layout.against[p],
                        layout.invalid[p],
                    )
                )
        return races, protocols, winners

    def _layout(self, n_precincts: int) -> _Layout:
        """Precincts per race, then registered, ballots and spoilt ballots per precinct."""
        rng, fig, s = self.rng, self.figures, self.scale
        n = fig.akims_elected * s
        size = [rng.lognormvariate(0.0, 0.6) for _ in range(n)]
        per_race = [1] * n
        for r in rng.choices(range(n), weights=size, k=n_precincts - n):
            per_race[r] += 1
        weights = [min(3.0, max(0.3, rng.lognormvariate(0.0, 0.45))) for _ in range(n_precincts)]
        registered = apportion(fig.registered * s, weights)
        ballots = split_ballots(registered, fig.ballots_cast * s, rng)
        against_total, invalid_total = self._spoilt_totals(fig.ballots_cast * s)
        room = [b // 5 for b in ballots]
        against = split_spoilt(ballots, against_total, room, rng)
        invalid = split_spoilt(ballots, invalid_total, room, rng)
        valid = [b - a - i for b, a, i in zip(ballots, against, invalid, strict=True)]
        ends = list(itertools.accumulate(per_race))
        spans = [range(end - k, end) for end, k in zip(ends, per_race, strict=True)]
        return _Layout(spans, registered, ballots, against, invalid, valid)

    def _race(self, r: int, parties: list[str], span: range, layout: _Layout) -> tuple[Race, int]:
        """Race number `r` (0-based) with named candidates in ballot order, and the
        index of the planned winner (`parties[0]`'s candidate) among them."""
        region_id = self.figures.region_id
        n = self.figures.akims_elected * self.scale
        race_id = f"{region_id}-r{r + 1:0{max(3, len(str(n)))}d}"
        people = self.names.people(len(parties))
        order = sorted(range(len(people)), key=lambda i: people[i])
        candidates = tuple(
            Candidate(f"{race_id}-c{k + 1}", people[i], parties[i]) for k, i in enumerate(order)
        )
        seat = self.names.village()
        width = max(4, len(str(len(layout.registered))))
        precincts = []
        for p in span:
            village = seat if p == span.start or self.rng.random() < 0.5 else self.names.village()
            name = f"{village}, №{self.first_number + p} сайлау учаскесі"
            precincts.append(
                Precinct(f"{region_id}-p{p + 1:0{width}d}", name, layout.registered[p])
            )
        race = Race(
            race_id=race_id,
            name=self.names.race_name(seat),
            region_id=region_id,
            office="akim",
            seats=1,
            against_all=True,
            winner_rule="plurality",
            against_all_rule="ignore",
            candidates=candidates,
            precincts=tuple(precincts),
        )
        return race, order.index(0)
