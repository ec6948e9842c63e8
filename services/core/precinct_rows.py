"""Precinct results as rows: what `precincts.csv` and the paged JSON serve.

A race's row per precinct is the figures of its winning result protocol
(the slot rules of `slots` decide which one), with the precinct's name,
region and district from the definition. Rows live in a table per race
(`precincts_table`, e.g. `precincts:E:R`), keyed by precinct id: a change of a
precinct's winner rewrites that one row (O(candidates)), never the race's.

Row (JSON object): `{"precinct_id", "name", "region_id", "district_id",
"registered", "ballots_cast", "votes": {candidate_id: n}, "against_all",
"invalid", "revision", "reported_at", "report_id"}`. A precinct that has not
sent a result protocol has no row.
"""

from __future__ import annotations

from typing import Any

from votewire.core.models import ElectionDefinition, Race, ResultReport


def precincts_table(election_id: str, race_id: str) -> str:
    """The rows table of a race (named like a channel)."""
    return f"precincts:{election_id}:{race_id}"


def precinct_row(
    definition: ElectionDefinition, race: Race, result: ResultReport
) -> dict[str, Any]:
    """The row of `result`, the winning protocol of its precinct."""
    precinct = definition.precinct(race.race_id, result.precinct_id)
    region = definition.region_of(race, precinct) if precinct is not None else race.region_id
    return {
        "precinct_id": result.precinct_id,
        "name": precinct.name if precinct is not None else "",
        "region_id": region,
        "district_id": precinct.district_id if precinct is not None else None,
        "registered": result.registered,
        "ballots_cast": result.ballots_cast,
        "votes": {c.candidate_id: result.votes.get(c.candidate_id, 0) for c in race.candidates},
        "against_all": result.against_all,
        "invalid": result.invalid,
        "revision": result.revision,
        "reported_at": result.reported_at.isoformat(),
        "report_id": result.report_id,
    }
