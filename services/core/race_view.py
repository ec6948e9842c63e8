"""Rendering one race's view from its running totals.

Definitions used in the view (contract v2):
- shares: `share_base` "ballots_cast" divides by all ballots cast
  (against-all and invalid included); "valid" divides by candidate votes +
  against-all. `invalid.pct` is always a share of ballots cast. The view's
  `share_base` is the definition's, except in a `majority` race, whose
  shares are on its `majority_base`: a share above 50.00 % there is a
  majority, so a share and the outcome beside it never disagree;
- `majority_base`: the race's, for a `majority` race; null for plurality;
- `turnout_pct` = ballots_cast / registered_reporting: turnout among the
  precincts that reported a result, so it is meaningful mid-count;
- `turnout_by_mark[i].pct` = ballots / definition registered, over the
  precincts that reported that mark;
- `status`: "not_reporting" (no precinct result yet), "counting", "complete"
  (every precinct has a result); `outcome` is null until complete;
- `leader`: the candidate with strictly the most votes, null while nothing
  is counted or when the first place is tied; `margin`: first minus second
  in the ranking (votes desc, then candidate_id), null with one candidate or
  no results;
- `call`: the desk's standing call (`race_call`: type, candidate_ids, note,
  called_at, called_by, call_id; type "retracted" after a retraction), null
  if the race was never called. It is kept beside `outcome`, never instead;
  its `disagrees` is `race_call.disagrees(call, outcome)`: true only for a
  complete race whose outcome says otherwise than a winner or runoff call.
"""

from __future__ import annotations

from votewire.core.models import ElectionDefinition, Race
from votewire.core.outcome import OutcomeView, decide, ranking
from votewire.core.percent import pct, reporting_pct
from votewire.core.race_call import RaceCall, disagrees
from votewire.core.race_totals import RaceTotals
from votewire.core.views import (
    CallView,
    CandidateLine,
    Margin,
    RaceStatus,
    RaceView,
    mark_lines,
)


def _status(reporting: int, total: int) -> RaceStatus:
    if reporting == 0:
        return "not_reporting"
    return "complete" if reporting >= total else "counting"


def call_view(call: RaceCall | None, outcome: OutcomeView | None) -> CallView | None:
    """A race view's `call`, beside the race's `outcome` (null until complete)."""
    if call is None:
        return None
    return {
        "type": call.type,
        "candidate_ids": list(call.candidate_ids),
        "note": call.note,
        "called_at": call.called_at.isoformat(),
        "called_by": call.called_by,
        "call_id": call.call_id,
        "disagrees": disagrees(call, outcome),
    }


def render_race_view(
    definition: ElectionDefinition,
    race: Race,
    totals: RaceTotals,
    version: int,
    call: RaceCall | None = None,
) -> RaceView:
    """The race view for `totals` (see the module doc for every definition)."""
    t = totals
    votes = t.votes
    share_base = race.majority_base if race.winner_rule == "majority" else definition.share_base
    base = t.ballots_cast
    if share_base == "valid":
        base = sum(votes.values()) + t.against_all
    ranked = ranking(race, votes)
    by_id = {c.candidate_id: c for c in race.candidates}
    lines: list[CandidateLine] = [
        {
            "candidate_id": cid,
            "name": by_id[cid].name,
            "party": by_id[cid].party,
            "votes": votes[cid],
            "pct": pct(votes[cid], base),
        }
        for cid in ranked
    ]
    total = len(race.precincts)
    status = _status(t.precincts_reporting, total)
    counted = t.precincts_reporting > 0
    top = votes[ranked[0]]
    second = votes[ranked[1]] if len(ranked) > 1 else None
    leader = ranked[0] if counted and top > 0 and top != second else None
    margin: Margin | None = None
    if counted and second is not None:
        margin = {"votes": top - second, "pct": pct(top - second, base)}
    outcome = None
    if status == "complete":
        outcome = decide(race, votes, t.against_all, t.ballots_cast).to_dict()
    return {
        "election_id": definition.election_id,
        "test": definition.test,
        "version": version,
        "share_base": share_base,
        "race_id": race.race_id,
        "name": race.name,
        "region_id": race.region_id,
        "office": race.office,
        "seats": race.seats,
        "winner_rule": race.winner_rule,
        "majority_base": race.majority_base if race.winner_rule == "majority" else None,
        "registered": t.registered,
        "registered_reporting": t.registered_reporting,
        "ballots_cast": t.ballots_cast,
        "turnout_pct": pct(t.ballots_cast, t.registered_reporting),
        "precincts_total": total,
        "precincts_reporting": t.precincts_reporting,
        "precincts_reporting_pct": reporting_pct(t.precincts_reporting, total),
        "candidates": lines,
        "against_all": (
            {"votes": t.against_all, "pct": pct(t.against_all, base)} if race.against_all else None
        ),
        "invalid": {"votes": t.invalid, "pct": pct(t.invalid, t.ballots_cast)},
        "leader": leader,
        "margin": margin,
        "status": status,
        "outcome": outcome,
        "call": call_view(call, outcome),
        "turnout_by_mark": mark_lines(
            definition.turnout_marks, t.mark_ballots, t.mark_registered, t.mark_precincts
        ),
    }
