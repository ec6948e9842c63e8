"""A national reference night: one presidential race over every precinct, plus local races.

`national_scenario(precincts=N, regions=R, seed=S)` builds, deterministically:

- the definition (`national_definition`): election `national-<N>` on
  2024-06-09 in `Asia/Almaty`, the kz-2021 turnout marks, shares of all
  ballots cast, kz-2021's party registry (names, short names, colours).
  Regions are the reference's 14 regions (`load_reference`),
  then `region-15`, `region-16`, ... when R > 14. N precincts are spread
  over the R regions (at least one each, the rest in proportion to random
  region sizes); each precinct names its region (`region_id`) and its
  district (`district_id`, `<region_id>-d<NN>`: a region of k precincts has
  max(1, min(20, k // 40)) districts of consecutive precincts, listed in the
  definition's `districts`).
- the race `president`: every precinct, spanning every region (`region_id`
  null: it counts in each region's view where its precincts are), six
  candidates, against-all on,
  `majority` rule (more than half of ballots cast, else a runoff) and
  `repeat_election` if against-all beats them all. The planned winner takes
  55-75 % of valid ballots nationally, so the race is decided outright.
- one local race per region, `<region_id>-akim`: plurality, three to five
  candidates, against-all with rule `ignore`, over about a tenth (at least
  one) of that region's precincts, the same precinct ids as in `president`.
- the final protocol of every precinct of every race (`Scenario.protocols`).

Each precinct is also tagged with its region in its id, as in kz-2021:
`<region_id>-p<number within the region, 6 digits>`; the region is what
stands before the last `-p`.

The national view adds the ballots of every race, so with local races it
counts those precincts' voters twice: read turnout off the `president` race.
`night.simulate_night` and `votewire scenario national` turn it into a night
with the same fault kinds as kz-2021 (`faults`).
"""

from __future__ import annotations

import random
from functools import lru_cache
from types import MappingProxyType

from votewire.core.models import (
    Candidate,
    District,
    ElectionDefinition,
    Precinct,
    Race,
    Region,
)
from votewire.core.scenario.apportion import apportion
from votewire.core.scenario.kz2021 import PARTIES, TURNOUT_MARKS, Scenario
from votewire.core.scenario.names import NameBook
from votewire.core.scenario.protocols import Protocol, split_ballots, split_spoilt, split_votes
from votewire.core.scenario.reference import load_reference

__all__ = [
    "NATIONAL_PREFIX",
    "PRESIDENT",
    "is_national",
    "national_definition",
    "national_scenario",
    "region_of_precinct",
]

NATIONAL_PREFIX = "national-"
PRESIDENT = "president"
DISTRICT_SIZE = 40
"""About how many precincts a district holds; a region has 1 to `MAX_DISTRICTS`."""
MAX_DISTRICTS = 20
ELECTION_DATE = "2024-06-09"
ELECTION_TIMEZONE = "Asia/Almaty"
PRESIDENT_PARTIES = ("nur_otan", "auyl", "ak_zhol", "peoples_party", "nsdp", "independent")
LOCAL_SHARE = 0.1
"""Share of a region's precincts in its local race."""


def is_national(definition: ElectionDefinition) -> bool:
    return definition.election_id.startswith(NATIONAL_PREFIX)


def region_of_precinct(precinct_id: str) -> str:
    """The region a national (or kz-2021) precinct id names: what stands before `-p`."""
    return precinct_id.rpartition("-p")[0]


def national_definition(precincts: int, regions: int = 14, seed: int = 2024) -> ElectionDefinition:
    """The definition of `national_scenario(precincts, regions, seed)` (see the module doc)."""
    return _Layout(precincts, regions, seed).definition()


@lru_cache(maxsize=4)
def national_scenario(precincts: int, regions: int = 14, seed: int = 2024) -> Scenario:
    """Definition, final protocols and winners; equal arguments give an equal scenario.
    Raises `ValueError` unless 1 <= regions <= precincts."""
    layout = _Layout(precincts, regions, seed)
    definition = layout.definition()
    rng = random.Random(f"national:protocols:{seed}:{precincts}:{regions}")
    protocols: list[Protocol] = []
    winners: dict[str, str] = {}
    for race in definition.races:
        race_protocols, winner = _protocols(race, layout.registered, rng)
        protocols.extend(race_protocols)
        winners[race.race_id] = winner
    return Scenario(seed, 1, definition, tuple(protocols), MappingProxyType(winners))


class _Layout:
    """Regions, precincts and races: everything of the definition."""

    def __init__(self, precincts: int, regions: int, seed: int) -> None:
        if not 1 <= regions <= precincts:
            raise ValueError(f"need 1 <= regions <= precincts, got {regions} and {precincts}")
        self.n, self.seed = precincts, seed
        self.rng = random.Random(f"national:{seed}:{precincts}:{regions}")
        reference = [(r.region_id, r.name) for r in load_reference().regions]
        extra = [(f"region-{k:02d}", f"Region {k:02d}") for k in range(15, regions + 1)]
        self.regions = (reference + extra)[:regions]
        weights = [self.rng.lognormvariate(0.0, 0.5) for _ in self.regions]
        self.counts = [1 + k for k in apportion(precincts - regions, weights)]
        self.registered: dict[str, int] = {}

    def definition(self) -> ElectionDefinition:
        by_region: list[list[Precinct]] = []
        districts: list[District] = []
        for (region_id, region_name), count in zip(self.regions, self.counts, strict=True):
            names = NameBook(region_id, random.Random(f"names:{self.seed}:{region_id}"))
            village = names.place()
            n_districts = max(1, min(MAX_DISTRICTS, count // DISTRICT_SIZE))
            districts += [
                District(f"{region_id}-d{d + 1:02d}", region_id, f"{region_name}, district {d + 1}")
                for d in range(n_districts)
            ]
            rows = []
            for k in range(count):
                if self.rng.random() < 0.3:
                    village = names.place()
                registered = max(50, min(3000, round(self.rng.lognormvariate(7.0, 0.5))))
                precinct_id = f"{region_id}-p{k + 1:06d}"
                district_id = f"{region_id}-d{k * n_districts // count + 1:02d}"
                self.registered[precinct_id] = registered
                name = f"{village}, №{k + 1}"
                rows.append(Precinct(precinct_id, name, registered, region_id, district_id))
            by_region.append(rows)
        national = NameBook("", random.Random(f"names:{self.seed}:president"))
        president = _race(
            PRESIDENT, "President of the Republic", None, "president",
            PRESIDENT_PARTIES, national.people(len(PRESIDENT_PARTIES)),
            tuple(p for rows in by_region for p in rows), "majority", "repeat_election",
        )  # fmt: skip
        races = [president]
        for (region_id, name), rows in zip(self.regions, by_region, strict=True):
            names = NameBook(region_id, random.Random(f"local:{self.seed}:{region_id}"))
            size = max(1, round(len(rows) * LOCAL_SHARE))
            start = self.rng.randrange(0, len(rows) - size + 1)
            parties = ["nur_otan", *self.rng.sample(PRESIDENT_PARTIES[1:], self.rng.randint(2, 4))]
            races.append(
                _race(
                    f"{region_id}-akim",
                    f"Akim of {name}'s centre",
                    region_id,
                    "akim",
                    tuple(parties),
                    names.people(len(parties)),
                    tuple(rows[start : start + size]),
                    "plurality",
                    "ignore",
                )
            )
        return ElectionDefinition(
            election_id=f"{NATIONAL_PREFIX}{self.n}",
            name=f"National reference election, {self.n} precincts",
            date=ELECTION_DATE,
            timezone=ELECTION_TIMEZONE,
            turnout_marks=TURNOUT_MARKS,
            share_base="ballots_cast",
            regions=tuple(Region(region_id, name) for region_id, name in self.regions),
            races=tuple(races),
            districts=tuple(districts),
            parties=PARTIES,
        )


def _race(
    race_id: str,
    name: str,
    region_id: str | None,
    office: str,
    parties: tuple[str, ...],
    people: list[str],
    precincts: tuple[Precinct, ...],
    winner_rule: str,
    against_all_rule: str,
) -> Race:
    candidates = tuple(
        Candidate(f"{race_id}-c{k + 1}", person, party)
        for k, (person, party) in enumerate(zip(people, parties, strict=True))
    )
    return Race(
        race_id=race_id,
        name=name,
        region_id=region_id,
        office=office,
        seats=1,
        against_all=True,
        winner_rule=winner_rule,  # type: ignore[arg-type]
        against_all_rule=against_all_rule,  # type: ignore[arg-type]
        candidates=candidates,
        precincts=precincts,
    )


def _protocols(
    race: Race, registered: dict[str, int], rng: random.Random
) -> tuple[list[Protocol], str]:
    """Every precinct's final figures and the winner: turnout 55-85 %, against-all 2-4 %,
    invalid 1-2 %; the planned winner takes 55-75 % of valid ballots."""
    seats = [registered[p.precinct_id] for p in race.precincts]
    ballots = split_ballots(seats, round(sum(seats) * rng.uniform(0.55, 0.85)), rng)
    room = [b // 5 for b in ballots]
    total = sum(ballots)
    against = split_spoilt(ballots, round(total * rng.uniform(0.02, 0.04)), room, rng)
    invalid = split_spoilt(ballots, round(total * rng.uniform(0.01, 0.02)), room, rng)
    valid = [b - a - i for b, a, i in zip(ballots, against, invalid, strict=True)]
    winner = rng.randrange(len(race.candidates))
    share = rng.uniform(0.55, 0.75)
    others = [rng.uniform(0.2, 1.0) for _ in race.candidates]
    others[winner] = 0.0
    weights = [
        share if k == winner else (1 - share) * w / sum(others) for k, w in enumerate(others)
    ]
    totals = apportion(sum(valid), weights)
    rows = split_votes(valid, totals, rng)
    protocols = [
        Protocol(
            race.race_id,
            p.precinct_id,
            registered[p.precinct_id],
            ballots[i],
            MappingProxyType(
                {c.candidate_id: v for c, v in zip(race.candidates, rows[i], strict=True)}
            ),
            against[i],
            invalid[i],
        )
        for i, p in enumerate(race.precincts)
    ]
    return protocols, race.candidates[winner].candidate_id
