"""Who stands where, and who is meant to win: one region's races.

Three steps, all drawn from the `random.Random` passed in:

1. `candidate_counts`: the region's candidates per party, as published,
   except where a party won more races than it had candidates (Almaty:
   57 Nur Otan akims, 51 Nur Otan candidates; the tables count party-backed
   self-nominees under the party). The missing ones are taken from the
   independents, which keeps the region's candidate total as published.
2. `plan_winners`: the winning party of each race, so that the region's
   akims per party are exactly the published ones. Small-party wins go to
   races of a size that suits the party's published votes where those are
   known (Akmola), to random races elsewhere.
3. `seat_candidates`: the parties on each race's ballot, the winner's first.
   Invariants relied on by `votes.race_votes`: Nur Otan and the small
   parties stand at most once per race; a race won by a small party has no
   other small party's candidate; a race won by an independent has one.
   Every race gets at least 2 candidates while candidates are left.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from votewire.core.scenario.reference import PARTY_IDS
from votewire.core.scenario.votes import BIG_PARTY, INDEPENDENT

__all__ = ["SMALL_PARTIES", "candidate_counts", "plan_winners", "seat_candidates"]

SMALL_PARTIES: tuple[str, ...] = tuple(p for p in PARTY_IDS if p not in (BIG_PARTY, INDEPENDENT))

_WINNER_SHARE = 0.5
"""The share of its race a small-party winner is expected to take (placement only)."""


def candidate_counts(akims: Mapping[str, int], published: Mapping[str, int]) -> dict[str, int]:
    """Candidates per party: the published ones, topped up from independents to cover wins."""
    counts = dict(published)
    for party in PARTY_IDS:
        if party != INDEPENDENT and akims[party] > counts[party]:
            counts[INDEPENDENT] -= akims[party] - counts[party]
            counts[party] = akims[party]
    if counts[INDEPENDENT] < akims[INDEPENDENT]:
        raise ValueError("too few independent candidates for the independents' wins")
    return counts


def plan_winners(
    valid: Sequence[int],
    akims: Mapping[str, int],
    counts: Mapping[str, int],
    targets: Mapping[str, int] | None,
    rng: random.Random,
) -> list[str]:
    """The winning party of each race (`valid[i]`: valid ballots of race i)."""
    winners: list[str | None] = [None] * len(valid)
    free = list(range(len(valid)))
    for party in SMALL_PARTIES:
        for _ in range(akims[party]):
            target = targets.get(party, 0) if targets is not None else 0
            if target > 0:
                share = 0.7 if counts[party] > akims[party] else 1.0
                desired = target * share / akims[party] / _WINNER_SHARE
                pick = min(free, key=lambda r: abs(valid[r] - desired) * rng.uniform(0.9, 1.1))
            else:
                pick = rng.choice(free)
            winners[pick] = party
            free.remove(pick)
    rng.shuffle(free)
    big = akims[BIG_PARTY]
    for i, race in enumerate(free):
        winners[race] = BIG_PARTY if i < big else INDEPENDENT
    return [w if w is not None else INDEPENDENT for w in winners]


def _pick(rng: random.Random, races: list[int], weights: list[float], what: str) -> int:
    if not races:
        raise ValueError(f"no race can take {what}")
    return rng.choices(races, weights=weights)[0]


def seat_candidates(
    winners: Sequence[str], valid: Sequence[int], counts: Mapping[str, int], rng: random.Random
) -> list[list[str]]:
    """Parties on each race's ballot, the planned winner's first (see module doc)."""
    n = len(winners)
    seats = [[w] for w in winners]
    open_races = [r for r in range(n) if winners[r] in (BIG_PARTY, INDEPENDENT)]
    for party in SMALL_PARTIES:
        for _ in range(counts[party] - winners.count(party)):
            races = [r for r in open_races if party not in seats[r]]
            small = [sum(1 for p in seats[r] if p in SMALL_PARTIES) for r in races]
            weights = [valid[r] / (1 + s) ** 2 for r, s in zip(races, small, strict=True)]
            seats[_pick(rng, races, weights, f"a {party} candidate")].append(party)
    for _ in range(counts[BIG_PARTY] - winners.count(BIG_PARTY)):
        races = [r for r in range(n) if BIG_PARTY not in seats[r]]
        weights = [3.0 if winners[r] == INDEPENDENT else 1.0 for r in races]
        seats[_pick(rng, races, weights, "a Nur Otan candidate")].append(BIG_PARTY)
    left = counts[INDEPENDENT] - winners.count(INDEPENDENT)
    short = [r for r in range(n) if len(seats[r]) < 2]
    rng.shuffle(short)
    for r in short[:left]:
        seats[r].append(INDEPENDENT)
    left -= min(left, len(short))
    for _ in range(left):
        weights = [1.0 / len(s) ** 2 for s in seats]
        seats[rng.choices(range(n), weights=weights)[0]].append(INDEPENDENT)
    return seats
