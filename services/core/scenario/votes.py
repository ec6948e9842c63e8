"""Race-level vote totals with a planned winner and, optionally, exact party totals.

`race_votes(ballots, targets, rng)` gives every candidate of every race of
one region its race-wide vote total such that:

- each race's votes sum to its valid ballots (`RaceBallot.valid`);
- the planned winner has strictly more votes than every other candidate
  (a clear plurality winner, no tie);
- every candidate has at least 1 vote, except those of a party whose target
  is 0 (Akmola's NSDP nominee: the published table leaves no vote for them);
- with `targets` (party id -> votes; Akmola), each party's votes sum to its
  target exactly; the independents' total then follows from the others.

Parties play three roles: `nur_otan` (one candidate per race at most, the
big party), `independent` (any number per race) and the small parties (at
most one candidate per race; a race won by a small party has no other small
party candidate). The scenario generator builds races that keep these
invariants; `race_votes` raises `ValueError` if they are broken or if the
targets cannot be met. Values start from random shares and are then shifted
within their feasible bounds (`apportion.fit_total`) to meet the targets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from votewire.core.scenario.apportion import apportion, fit_total

__all__ = ["BIG_PARTY", "INDEPENDENT", "RaceBallot", "race_votes"]

BIG_PARTY = "nur_otan"
INDEPENDENT = "independent"


@dataclass(frozen=True, slots=True)
class RaceBallot:
    """What the solver needs to know about one race."""

    race_id: str
    valid: int
    """Valid ballots of the race: ballots cast minus against-all and invalid."""
    parties: tuple[str, ...]
    """The party of each candidate, in ballot order."""
    winner: int
    """Index into `parties` of the planned winner."""


def _is_small(party: str) -> bool:
    return party not in (BIG_PARTY, INDEPENDENT)


@dataclass(slots=True)
class _Slot:
    race: RaceBallot
    index: int
    low: int
    high: int
    preferred: int


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _share(rng: random.Random, valid: int, low: float, high: float) -> int:
    return round(valid * rng.uniform(low, high))


def _fit(slots: list[_Slot], target: int | None, what: str) -> list[int]:
    for s in slots:
        if s.low > s.high:
            raise ValueError(f"{s.race.race_id}: no room for {what} ({s.low} > {s.high})")
    values = [_clamp(s.preferred, s.low, s.high) for s in slots]
    if target is None:
        return values
    lows, highs = [s.low for s in slots], [s.high for s in slots]
    if not sum(lows) <= target <= sum(highs):
        raise ValueError(f"{what}: target {target} outside [{sum(lows)}, {sum(highs)}]")
    return fit_total(values, lows, highs, target)


def _small_slots(race: RaceBallot, zero: set[str], rng: random.Random) -> list[_Slot]:
    small = [i for i, p in enumerate(race.parties) if _is_small(p)]
    losers = [i for i in small if i != race.winner]
    if _is_small(race.parties[race.winner]) and losers:
        raise ValueError(f"{race.race_id}: a small party's win shares the race with another")
    n, valid = len(race.parties), race.valid
    slots = []
    for i in small:
        if race.parties[i] in zero:
            if i == race.winner:
                raise ValueError(f"{race.race_id}: a party without votes cannot win")
            slots.append(_Slot(race, i, 0, 0, 0))
        elif i == race.winner:
            others = sum(1 for j, p in enumerate(race.parties) if j != i and p not in zero)
            low = valid if n == 1 else -(-(valid + n - 1) // n)
            preferred = _share(rng, valid, 0.38, 0.62)
            slots.append(_Slot(race, i, low, valid - others, preferred))
        else:
            cap = max(1, math.floor(0.3 * valid / len(losers)))
            slots.append(_Slot(race, i, 1, cap, _share(rng, valid, 0.02, 0.12)))
    return slots


def _big_slot(race: RaceBallot, votes: list[int], rng: random.Random) -> _Slot | None:
    """Nur Otan's bounds once the small parties are fixed (see module doc for roles)."""
    if BIG_PARTY not in race.parties:
        return None
    i = race.parties.index(BIG_PARTY)
    rest = race.valid - sum(votes)
    k = race.parties.count(INDEPENDENT)
    small_top = max((v for j, v in enumerate(votes) if j != race.winner), default=0)
    winner_party = race.parties[race.winner]
    if winner_party == BIG_PARTY:
        if k == 0:
            return _Slot(race, i, rest, rest, rest)
        low = max(small_top + 1, -(-(rest + k) // (k + 1)))
        return _Slot(race, i, low, rest - k, _share(rng, race.valid, 0.5, 0.85))
    if winner_party == INDEPENDENT:
        high = min((rest - k) // 2, rest - k - small_top)
        return _Slot(race, i, 1, high, _share(rng, race.valid, 0.08, 0.35))
    top = votes[race.winner]
    if k == 0:
        return _Slot(race, i, rest, rest, rest)
    low = max(1, rest - k * (top - 1))
    return _Slot(race, i, low, min(top - 1, rest - k), _share(rng, race.valid, 0.05, 0.3))


def _independents(race: RaceBallot, votes: list[int], rng: random.Random) -> None:
    """Split what is left among the independents, below the winner unless one wins."""
    ind = [i for i, p in enumerate(race.parties) if p == INDEPENDENT]
    left = race.valid - sum(votes)
    if not ind:
        if left:
            raise ValueError(f"{race.race_id}: {left} votes left and no independent to take them")
        return
    others = ind
    top = votes[race.winner]
    if race.winner in ind:
        k = len(ind)
        rivals = max((v for j, v in enumerate(votes) if j != race.winner), default=0)
        low = max(rivals + 1, -(-(left + k - 1) // k))
        high = left - (k - 1)
        if low > high:
            raise ValueError(f"{race.race_id}: no room for the independent winner")
        top = _clamp(_share(rng, left, 0.55, 0.85), low, high)
        votes[race.winner] = top
        left -= top
        others = [i for i in ind if i != race.winner]
    if not others:
        return
    weights = [rng.lognormvariate(0.0, 0.6) for _ in others]
    extra = apportion(left - len(others), weights, [top - 2] * len(others))
    for i, e in zip(others, extra, strict=True):
        votes[i] = 1 + e


def _check(race: RaceBallot, votes: list[int]) -> None:
    top = votes[race.winner]
    if sum(votes) != race.valid or min(votes) < 0:
        raise ValueError(f"{race.race_id}: votes do not add up to the valid ballots")
    if any(v >= top for j, v in enumerate(votes) if j != race.winner):
        raise ValueError(f"{race.race_id}: the planned winner does not lead")


def race_votes(
    ballots: Sequence[RaceBallot], targets: Mapping[str, int] | None, rng: random.Random
) -> dict[str, list[int]]:
    """race_id -> votes per candidate (aligned with `parties`); see the module doc."""
    zero = {p for p, t in (targets or {}).items() if t == 0}
    votes = {b.race_id: [0] * len(b.parties) for b in ballots}
    by_party: dict[str, list[_Slot]] = {}
    for b in ballots:
        for slot in _small_slots(b, zero, rng):
            by_party.setdefault(b.parties[slot.index], []).append(slot)
    for party in sorted(by_party):
        slots = by_party[party]
        target = targets.get(party) if targets is not None else None
        for slot, value in zip(slots, _fit(slots, target, party), strict=True):
            votes[slot.race.race_id][slot.index] = value
    big = [s for b in ballots if (s := _big_slot(b, votes[b.race_id], rng)) is not None]
    target = targets.get(BIG_PARTY) if targets is not None else None
    for slot, value in zip(big, _fit(big, target, BIG_PARTY), strict=True):
        votes[slot.race.race_id][slot.index] = value
    for b in ballots:
        _independents(b, votes[b.race_id], rng)
        _check(b, votes[b.race_id])
    if targets is not None and INDEPENDENT in targets:
        got = sum(
            v
            for b in ballots
            for p, v in zip(b.parties, votes[b.race_id], strict=True)
            if p == INDEPENDENT
        )
        if got != targets[INDEPENDENT]:
            raise ValueError(f"independents: {got} votes, target {targets[INDEPENDENT]}")
    return votes
