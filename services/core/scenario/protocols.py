"""Precinct-level final figures: ballots, against-all, invalid, votes.

A `Protocol` is what a precinct's final result report carries. The helpers
here split region-wide and race-wide totals over precincts exactly (via
`apportion`), so the precinct figures always add up to the totals they came
from, and every protocol satisfies votes + against_all + invalid ==
ballots_cast <= registered.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from votewire.core.scenario.apportion import apportion

__all__ = ["Protocol", "split_ballots", "split_spoilt", "split_votes"]


@dataclass(frozen=True, slots=True)
class Protocol:
    """The final figures of one precinct."""

    race_id: str
    precinct_id: str
    registered: int
    ballots_cast: int
    votes: Mapping[str, int]
    """candidate_id -> votes, every candidate of the race present."""
    against_all: int
    invalid: int


def split_ballots(registered: Sequence[int], total: int, rng: random.Random) -> list[int]:
    """Ballots cast per precinct, summing to `total`, none above its registered voters.

    Precinct turnout scatters around the region's; the scatter narrows as the
    region's turnout nears 100 % so that few precincts hit the ceiling.
    """
    turnout = total / max(1, sum(registered))
    sigma = max(0.01, min(0.08, (1.0 - turnout) / 2))
    weights = [r * max(0.5, min(1.5, rng.gauss(1.0, sigma))) for r in registered]
    return apportion(total, weights, registered)


def split_spoilt(
    ballots: Sequence[int], total: int, room: Sequence[int], rng: random.Random
) -> list[int]:
    """`total` against-all (or invalid) ballots over precincts, each within `room`."""
    weights = [b * rng.uniform(0.4, 1.6) for b in ballots]
    return apportion(total, weights, room)


def split_votes(valid: Sequence[int], totals: Sequence[int], rng: random.Random) -> list[list[int]]:
    """Race-wide candidate `totals` over precincts with `valid` ballots each.

    Returns one row per precinct (one column per candidate); rows sum to
    `valid`, columns to `totals` (which must sum to `sum(valid)`). Local
    support varies: each candidate's share leans towards some precincts.
    """
    if sum(valid) != sum(totals):
        raise ValueError("the candidates' totals do not add up to the valid ballots")
    room = list(valid)
    rows = [[0] * len(totals) for _ in valid]
    order = sorted(range(len(totals)), key=lambda c: -totals[c])
    for c in order[:-1]:
        weights = [r * rng.lognormvariate(0.0, 0.35) for r in room]
        for p, v in enumerate(apportion(totals[c], weights, room)):
            rows[p][c] = v
            room[p] -= v
    if order:
        for p, r in enumerate(room):
            rows[p][order[-1]] = r
    return rows
