"""The outcome of a complete race under its rules.

`decide(race, votes, against_all, ballots_cast)` ranks candidates by votes,
descending, then by candidate_id (so every list below is deterministic), and
applies, in this order:

1. Against-all: if the race has an against-all line, its rule is
   `repeat_election`, and `against_all` is strictly greater than every
   candidate's votes -> `repeat_election` (reason "against_all"). A tie with
   the top candidate is not a win for against-all.
2. `plurality` with `seats` = s: the top s candidates win -> `winner`, unless
   the candidates ranked s and s+1 have equal votes -> `tie` between every
   candidate with that vote count, `place` = the best rank among them (the
   candidates ranked above `place` are elected regardless). With one seat:
   most votes wins, a tie for first is a tie.
3. `majority` (one seat): more than half of the race's `majority_base`
   (strictly: 2 * votes > base) -> `winner`. The base is `ballots_cast`
   (the default, Kazakhstan's law: against-all and invalid ballots count) or
   `valid` (candidate votes + against-all; `majority_base_total`).
   Otherwise a runoff between the top two -> `runoff`;
   but three or more tied for first -> `tie` (place 1), and a unique first
   with a tie for second -> `tie` between the tied seconds (place 2). A sole
   candidate without a majority -> `repeat_election` (reason "no_majority").

`Outcome.to_dict()` always has the keys type, candidate_id (the single winner,
else null), candidate_ids, place (ties only) and reason (repeat elections
only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from votewire.core.models import Race

OutcomeType = Literal["winner", "runoff", "tie", "repeat_election"]


class OutcomeView(TypedDict):
    type: OutcomeType
    candidate_id: str | None
    candidate_ids: list[str]
    place: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    type: OutcomeType
    candidate_ids: tuple[str, ...]
    place: int | None = None
    reason: str | None = None

    def to_dict(self) -> OutcomeView:
        single = self.type == "winner" and len(self.candidate_ids) == 1
        return {
            "type": self.type,
            "candidate_id": self.candidate_ids[0] if single else None,
            "candidate_ids": list(self.candidate_ids),
            "place": self.place,
            "reason": self.reason,
        }


def ranking(race: Race, votes: Mapping[str, int]) -> list[str]:
    """Candidate ids by votes descending, then candidate_id ascending."""
    return sorted((c.candidate_id for c in race.candidates), key=lambda c: (-votes[c], c))


def _tied_with(ranked: list[str], votes: Mapping[str, int], index: int) -> Outcome:
    level = votes[ranked[index]]
    tied = tuple(c for c in ranked if votes[c] == level)
    return Outcome("tie", tied, place=ranked.index(tied[0]) + 1)


def majority_base_total(
    race: Race, votes: Mapping[str, int], against_all: int, ballots_cast: int
) -> int:
    """The total a majority of `race` is measured against (its `majority_base`)."""
    if race.majority_base == "valid":
        return sum(votes.values()) + against_all
    return ballots_cast


def decide(race: Race, votes: Mapping[str, int], against_all: int, ballots_cast: int) -> Outcome:
    """The outcome of `race` once every precinct reported (see module doc)."""
    ranked = ranking(race, votes)
    top = votes[ranked[0]]
    if race.against_all and race.against_all_rule == "repeat_election" and against_all > top:
        return Outcome("repeat_election", (), reason="against_all")
    if race.winner_rule == "plurality":
        seats = race.seats
        if seats < len(ranked) and votes[ranked[seats - 1]] == votes[ranked[seats]]:
            return _tied_with(ranked, votes, seats - 1)
        return Outcome("winner", tuple(ranked[:seats]))
    if 2 * top > majority_base_total(race, votes, against_all, ballots_cast):
        return Outcome("winner", (ranked[0],))
    if len(ranked) == 1:
        return Outcome("repeat_election", (), reason="no_majority")
    if len(ranked) > 2 and votes[ranked[2]] == top:
        return _tied_with(ranked, votes, 0)
    if votes[ranked[1]] != top and len(ranked) > 2 and votes[ranked[2]] == votes[ranked[1]]:
        return _tied_with(ranked, votes, 1)
    return Outcome("runoff", (ranked[0], ranked[1]))
