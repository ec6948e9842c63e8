"""A race spanning regions counts where its precincts are, and once nationally (core.rollup)."""

from __future__ import annotations

from typing import Any

from builders import AT, ELECTION, definition_dict, race_dict
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tally_properties import strip_versions as strip_versions_of
from votewire.core.codec import decode_definition
from votewire.core.models import Report, ResultReport, TurnoutReport
from votewire.core.publication import tally_publications
from votewire.core.race_units import empty_part
from votewire.core.rollup import national_view, region_view
from votewire.core.tally import ElectionTally


def _definition() -> Any:
    spanning = race_dict("PRES", "N", [("A", "Nur Otan"), ("B", "Auyl")],
                         [(f"Q{i}", 100 + i) for i in range(6)], against_all=True,
                         winner_rule="majority")  # fmt: skip
    spanning["region_id"] = None
    for i, precinct in enumerate(spanning["precincts"]):
        precinct["region_id"] = "N" if i < 4 else "S"
    obj = definition_dict()
    obj["races"] = [spanning, *obj["races"]]
    return decode_definition(obj)


DEFN = _definition()
SLOTS = [
    (race.race_id, p.precinct_id, mark)
    for race in DEFN.races
    for p in race.precincts
    for mark in (*DEFN.turnout_marks, "")
]
FIGURES = ("registered", "registered_reporting", "ballots_cast", "precincts_total",
           "precincts_reporting")  # fmt: skip


@st.composite
def reports(draw: st.DrawFn) -> Report:
    race_id, precinct_id, mark = draw(st.sampled_from(SLOTS))
    revision = draw(st.integers(1, 3))
    rid = draw(st.text("abcdef0123", min_size=1, max_size=8))
    if mark:
        ballots = draw(st.integers(0, 90))
        return TurnoutReport(rid, ELECTION, race_id, precinct_id, mark, ballots, revision, AT)
    race = DEFN.race(race_id)
    votes = {c.candidate_id: draw(st.integers(0, 40)) for c in race.candidates}
    against_all = draw(st.integers(0, 5)) if race.against_all else 0
    invalid = draw(st.integers(0, 5))
    ballots = sum(votes.values()) + against_all + invalid
    registered = draw(st.integers(90, 120))
    return ResultReport(rid, ELECTION, race_id, precinct_id, registered, ballots, votes,
                        against_all, invalid, revision, AT)  # fmt: skip


def fold(items: list[Report]) -> ElectionTally:
    tally = ElectionTally(DEFN)
    for r in items:
        tally.apply(r)
    return tally


@settings(max_examples=200)
@given(st.lists(reports(), max_size=30), st.data())
def test_regions_count_the_spanning_race_where_its_precincts_are(
    items: list[Report], data: st.DataObject
) -> None:
    """For any reports in any order, with repeats: each region's figures are its own
    races' plus the spanning race's over its precincts there; the nation's are every
    race's, counted once; the views do not depend on the order."""
    tally = fold(items)
    shuffled = data.draw(st.permutations(items + items[: len(items) // 2]))
    assert strip_versions_of(fold(shuffled).views()) == strip_versions_of(tally.views())
    units = {u["unit_id"]: u for u in tally.races["PRES"].unit_views(every=True)
             if u["level"] == "region"}  # fmt: skip
    nation = tally.national_view()
    for g in ("N", "S"):
        view = tally.region_view(g)
        own = [tally.race_view(r.race_id) for r in DEFN.races_in(g)]
        part_ballots = units[g]["ballots_cast"] if g in units else 0
        assert view["ballots_cast"] == sum(v["ballots_cast"] for v in own) + part_ballots
        precincts = sum(1 for p in DEFN.race("PRES").precincts if p.region_id == g)
        assert view["precincts_total"] == sum(v["precincts_total"] for v in own) + precincts
        assert view["races_total"] == len(own)
    every = list(tally.views()["races"].values())
    for name in FIGURES:
        assert nation[name] == sum(v[name] for v in every), name
    for i, mark in enumerate(nation["turnout_by_mark"]):
        assert mark["ballots_cast"] == sum(v["turnout_by_mark"][i]["ballots_cast"] for v in every)
    votes = {p["party"]: p["votes"] for p in nation["votes_by_party"]}
    for party in {c["party"] for v in every for c in v["candidates"]}:
        expected = sum(c["votes"] for v in every for c in v["candidates"] if c["party"] == party)
        assert votes.get(party, 0) == expected
    assert nation["races_total"] == len(DEFN.races)
    assert nation["races_reporting"] == sum(v["status"] != "not_reporting" for v in every)


@settings(max_examples=100)
@given(st.lists(reports(), max_size=30))
def test_the_incremental_rollups_equal_a_fold_from_scratch(items: list[Report]) -> None:
    """RegionRollup/NationalRollup (what the stages keep) equal region_view/national_view
    of the newest race views and parts; versions included."""
    tally = fold(items)
    pres = tally.races["PRES"]
    parts = {p["region_id"]: p for p in pres.region_parts(every=True)}
    regions = []
    for g in ("N", "S"):
        own = [tally.race_view(r.race_id) for r in DEFN.races_in(g)]
        part = parts.get(g) or empty_part(DEFN, DEFN.race("PRES"), g)
        expected = region_view(DEFN, g, own, [part])
        assert tally.region_view(g) == expected
        regions.append(expected)
    assert tally.national_view() == national_view(DEFN, regions, [pres.view()])


def test_a_region_heard_of_only_through_the_spanning_race_is_published() -> None:
    """South has a result of the president only: its region view exists, counts it, and
    races:E lists the president first, with region_id null."""
    tally = fold([ResultReport("r1", ELECTION, "PRES", "Q5", 105, 60, {"A": 40, "B": 15}, 3, 2,
                               1, AT)])  # fmt: skip
    docs = {p.channel: p for p in tally_publications(tally)}
    assert f"region:{ELECTION}:S" in docs and f"region:{ELECTION}:N" not in docs
    assert tally.region_view("S")["ballots_cast"] == 60
    assert tally.national_view()["ballots_cast"] == 60
    assert tally.national_view()["races_reporting"] == 1


def test_an_empty_part_is_the_part_of_a_race_nothing_was_heard_from() -> None:
    """`empty_part` (built from the definition alone) equals a fresh race's own part."""
    from votewire.core.race_units import RaceUnits

    race = DEFN.race("PRES")
    units = RaceUnits(DEFN, race)
    for g in ("N", "S"):
        assert units.part(g) == empty_part(DEFN, race, g)
