"""Shapes of the published views: plain JSON-ready dicts, typed.

Every count is an exact int; every percentage is a string from
`votewire.core.percent` with its raw counts alongside. Every view carries
`election_id` and `test` (a rehearsal definition: never show as real).
See docs/contract.md for examples.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from votewire.core.models import MajorityBase, ShareBase
from votewire.core.outcome import OutcomeView
from votewire.core.percent import pct

RaceStatus = Literal["not_reporting", "counting", "complete"]


class Share(TypedDict):
    votes: int
    pct: str


class Margin(TypedDict):
    votes: int
    pct: str


class CandidateLine(TypedDict):
    candidate_id: str
    name: str
    party: str
    votes: int
    pct: str


class CallView(TypedDict):
    """A desk's call of a race (`votewire.core.race_call`), beside its outcome."""

    type: str
    candidate_ids: list[str]
    note: str
    called_at: str
    called_by: str
    call_id: str
    disagrees: bool
    """The race is complete and its outcome says otherwise than this call."""


class PartyLine(TypedDict):
    party: str
    votes: int
    pct: str


class PartyEntry(TypedDict):
    """A party as readers see it (`votewire.core.parties`): `party` in every other line
    of the views is its `party_id`."""

    party_id: str
    name: str
    short_name: str
    color: str
    """"#rrggbb": the registry's, or a stable fallback."""


class PartySeats(TypedDict):
    party: str
    seats: int


class MarkTurnout(TypedDict):
    mark: str
    ballots_cast: int
    registered: int
    pct: str
    precincts_reported: int


class _Totals(TypedDict):
    election_id: str
    test: bool
    version: int
    share_base: ShareBase
    registered: int
    registered_reporting: int
    ballots_cast: int
    turnout_pct: str
    precincts_total: int
    precincts_reporting: int
    precincts_reporting_pct: str
    invalid: Share
    turnout_by_mark: list[MarkTurnout]


class RaceView(_Totals):
    race_id: str
    name: str
    region_id: str | None
    """null for a race spanning regions."""
    office: str
    seats: int
    winner_rule: str
    majority_base: MajorityBase | None
    """What a `majority` race's winner needs more than half of (its shares are of it);
    null for a plurality race."""
    candidates: list[CandidateLine]
    against_all: Share | None
    """null when the race has no against-all line."""
    leader: str | None
    margin: Margin | None
    status: RaceStatus
    outcome: OutcomeView | None
    call: CallView | None
    """The desk's standing call; null if never called."""


class RollupView(_Totals):
    races_total: int
    races_reporting: int
    races_complete: int
    against_all_races: int
    """Races with an against-all line; 0: show no against-all figure."""
    outcomes: dict[str, int]
    seats_by_party: list[PartySeats]
    votes_by_party: list[PartyLine]
    against_all: Share


class RegionView(RollupView):
    region_id: str
    name: str


class NationalView(RollupView):
    name: str
    date: str
    """Polling day (the definition's ISO date): `/v1/elections` lists it."""
    regions_total: int
    parties: list[PartyEntry]
    """Every party of the election, named and coloured: what `party` ids mean."""


class PartCandidate(TypedDict):
    candidate_id: str
    party: str
    votes: int


class Votes(TypedDict):
    votes: int


class PartView(TypedDict):
    """What a race spanning regions adds to one region's view (`race_units.RaceUnits.part`):
    the region's share of the race's figures, never its race counts or outcome."""

    part: bool
    election_id: str
    race_id: str
    region_id: str
    version: int
    precincts_total: int
    precincts_reporting: int
    registered: int
    registered_reporting: int
    ballots_cast: int
    candidates: list[PartCandidate]
    against_all: Votes | None
    invalid: Votes
    turnout_by_mark: list[MarkTurnout]


class Views(TypedDict):
    national: NationalView
    regions: dict[str, RegionView]
    races: dict[str, RaceView]


def mark_lines(
    marks: tuple[str, ...], ballots: list[int], registered: list[int], precincts: list[int]
) -> list[MarkTurnout]:
    """`turnout_by_mark` from per-mark sums, in definition order."""
    return [
        {
            "mark": mark,
            "ballots_cast": ballots[i],
            "registered": registered[i],
            "pct": pct(ballots[i], registered[i]),
            "precincts_reported": precincts[i],
        }
        for i, mark in enumerate(marks)
    ]
