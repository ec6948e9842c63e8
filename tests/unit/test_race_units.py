"""Totals per reporting unit: the sum over the unit's precincts, for any order and repetition."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from builders import AT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_definition_decoder import v2_dict
from test_tally_properties import DEFN, reports, strip_versions
from votewire.core.codec import decode_definition
from votewire.core.models import Report, ResultReport
from votewire.core.race_state import RaceState
from votewire.core.race_units import units_of


def fold(items: list[Report]) -> dict[str, RaceState]:
    states = {r.race_id: RaceState(DEFN, r.race_id) for r in DEFN.races}
    for report in items:
        states[report.race_id].apply(report)
    return states


def unit_docs(states: dict[str, RaceState]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (race_id, u["level"], u["unit_id"]): strip_versions(u)
        for race_id, state in states.items()
        for u in state.unit_views(every=True)
    }


@settings(max_examples=150, deadline=None)
@given(st.lists(reports(), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_units_are_the_sums_of_their_precincts_in_any_order(items: list[Report], rnd) -> None:
    """Each unit's votes, ballots, against-all, invalid and reporting count equal the sums
    over the winning results of its precincts; shuffled and repeated input folds equal."""
    states = fold(items)
    shuffled = items + items[: len(items) // 2]
    rnd.shuffle(shuffled)
    assert unit_docs(fold(shuffled)) == unit_docs(states)
    for race_id, state in states.items():
        race = DEFN.race(race_id)
        assert race is not None
        of = units_of(DEFN, race)
        expected: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for report in state.reports():
            if not isinstance(report, ResultReport):
                continue
            key = (report.race_id, report.precinct_id, "result", "")
            if state._book.winner(key) is not report:
                continue
            for level, unit_id in of[report.precinct_id]:
                sums = expected[(level, unit_id)]
                sums["precincts_reporting"] += 1
                sums["ballots_cast"] += report.ballots_cast
                sums["invalid"] += report.invalid
                sums["against_all"] += report.against_all
                for cid, n in report.votes.items():
                    sums[cid] += n
        views = {(u["level"], u["unit_id"]): u for u in state.unit_views(every=True)}
        assert set(views) == set(expected)
        for unit, sums in expected.items():
            view = views[unit]
            assert view["precincts_reporting"] == sums["precincts_reporting"]
            assert view["ballots_cast"] == sums["ballots_cast"]
            assert view["invalid"]["votes"] == sums["invalid"]
            if race.against_all:
                assert view["against_all"]["votes"] == sums["against_all"]
            assert {c["candidate_id"]: c["votes"] for c in view["candidates"]} == {
                c.candidate_id: sums[c.candidate_id] for c in race.candidates
            }


def test_a_unit_view_names_its_leader_and_shares() -> None:
    """The leader has the most votes (ties: definition order); shares are of ballots cast."""
    from builders import result

    state = RaceState(DEFN, "N1")
    state.apply(result("N1", "P1", {"A": 30, "B": 50}, against_all=10, invalid=10))
    (view,) = state.unit_views(every=True)
    assert (view["level"], view["unit_id"], view["name"]) == ("region", "N", "North")
    assert view["leader"] == "B" and view["ballots_cast"] == 100
    assert [c["pct"] for c in view["candidates"]] == ["30.00", "50.00", "0.00"]
    assert view["precincts_total"] == 2 and view["precincts_reporting"] == 1
    assert view["precincts_reporting_pct"] == "50"


def test_every_unit_view_names_the_region_it_lies_in() -> None:
    """A race spanning regions: a district's view carries its precincts' region, a region's
    its own id, so districts can be grouped under their region without the definition;
    each says what share of its precincts reported."""
    defn = decode_definition(v2_dict())
    state = RaceState(defn, "PRES")
    for pid, votes in (("P1", {"X": 300, "Y": 200}), ("P2", {"X": 10, "Y": 90}), ("P3", {"Y": 5})):
        full = {"X": 0, "Y": 0, **votes}
        precinct = defn.precinct("PRES", pid)
        assert precinct is not None
        state.apply(
            ResultReport(
                f"r-{pid}",
                defn.election_id,
                "PRES",
                pid,
                precinct.registered,
                sum(full.values()),
                full,
                0,
                0,
                1,
                AT,
            )
        )
    found = {
        (u["level"], u["unit_id"]): (u["region_id"], u["precincts_reporting_pct"])
        for u in state.unit_views(every=True)
    }
    assert found == {
        ("region", "N"): ("N", "100"),
        ("region", "S"): ("S", "100"),
        ("district", "N-d1"): ("N", "100"),
        ("district", "S-d1"): ("S", "100"),
    }
