"""The fold, by hand-computed examples: views, revisions, conflicts, flags, rollups."""

from __future__ import annotations

import json

import pytest
from builders import definition_dict, result, small_definition, turnout
from votewire.core.codec import decode_definition, report_to_bytes
from votewire.core.models import ElectionDefinition
from votewire.core.race_state import RaceState
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.tally import ElectionTally

P1 = result("N1", "P1", {"A": 500, "B": 200, "C": 50}, against_all=30, invalid=20)  # 800
P2 = result("N1", "P2", {"A": 100, "B": 300}, against_all=20, invalid=5, registered=520)  # 425
N2 = result("N2", "P1", {"D": 120, "E": 60}, invalid=10)  # 190


def test_race_view_mid_count(defn: ElectionDefinition) -> None:
    """One of two precincts in: exact figures, shares of ballots cast, leader, margin."""
    tally = ElectionTally(defn)
    assert tally.apply(P1).status == "applied"
    v = tally.race_view("N1")
    assert (v["election_id"], v["test"], v["race_id"], v["region_id"]) == (
        "kz-test",
        True,
        "N1",
        "N",
    )
    assert (v["registered"], v["registered_reporting"], v["ballots_cast"]) == (1500, 1000, 800)
    assert v["turnout_pct"] == "80.00"
    assert (v["precincts_total"], v["precincts_reporting"], v["precincts_reporting_pct"]) == (
        2,
        1,
        "50",
    )
    assert [(c["candidate_id"], c["party"], c["votes"], c["pct"]) for c in v["candidates"]] == [
        ("A", "Nur Otan", 500, "62.50"),
        ("B", "Auyl", 200, "25.00"),
        ("C", "independent", 50, "6.25"),
    ]
    assert v["against_all"] == {"votes": 30, "pct": "3.75"}
    assert v["invalid"] == {"votes": 20, "pct": "2.50"}
    assert v["leader"] == "A"
    assert v["margin"] == {"votes": 300, "pct": "37.50"}
    assert v["status"] == "counting" and v["outcome"] is None
    assert v["version"] == 1


def test_race_view_complete(defn: ElectionDefinition) -> None:
    """Both precincts in: registered uses the result's figure; outcome is decided."""
    tally = ElectionTally(defn)
    tally.apply(P1)
    tally.apply(P2)
    v = tally.race_view("N1")
    assert (v["registered"], v["registered_reporting"], v["ballots_cast"]) == (1520, 1520, 1225)
    assert v["turnout_pct"] == "80.59"
    assert [(c["candidate_id"], c["votes"], c["pct"]) for c in v["candidates"]] == [
        ("A", 600, "48.98"),
        ("B", 500, "40.82"),
        ("C", 50, "4.08"),
    ]
    assert v["against_all"] == {"votes": 50, "pct": "4.08"}
    assert v["invalid"] == {"votes": 25, "pct": "2.04"}
    assert v["margin"] == {"votes": 100, "pct": "8.16"}
    assert v["precincts_reporting_pct"] == "100"
    assert v["status"] == "complete"
    assert v["outcome"] == {
        "type": "winner",
        "candidate_id": "A",
        "candidate_ids": ["A"],
        "place": None,
        "reason": None,
    }


def test_not_reporting_race_view(defn: ElectionDefinition) -> None:
    """A race without results: zeros, no leader, no margin, status not_reporting."""
    v = ElectionTally(defn).race_view("S1")
    assert v["status"] == "not_reporting"
    assert (v["registered"], v["ballots_cast"], v["turnout_pct"]) == (300, 0, "0.00")
    assert v["leader"] is None and v["margin"] is None and v["outcome"] is None
    assert v["precincts_reporting_pct"] == "0"
    assert v["version"] == 0


def test_race_without_against_all_has_null_line(defn: ElectionDefinition) -> None:
    """N2 has no against-all line: its view shows null, and majority decides."""
    tally = ElectionTally(defn)
    tally.apply(N2)
    v = tally.race_view("N2")
    assert v["against_all"] is None
    assert v["outcome"] is not None and v["outcome"]["candidate_id"] == "D"  # 240 > 190


def test_tied_leaders_show_no_leader(defn: ElectionDefinition) -> None:
    """Equal top votes: leader is null, margin 0, and when complete the outcome is a tie."""
    tally = ElectionTally(defn)
    tally.apply(result("S1", "P1", {"F": 100, "G": 100}))
    v = tally.race_view("S1")
    assert v["leader"] is None
    assert v["margin"] == {"votes": 0, "pct": "0.00"}
    assert v["outcome"] is not None and v["outcome"]["type"] == "tie"


def test_against_all_win_gives_repeat_election(defn: ElectionDefinition) -> None:
    """N1 (repeat rule) where against-all beats every candidate: repeat_election."""
    tally = ElectionTally(defn)
    tally.apply(result("N1", "P1", {"A": 100, "B": 90}, against_all=300))
    tally.apply(result("N1", "P2", {"A": 10}, against_all=10))
    outcome = tally.race_view("N1")["outcome"]
    assert outcome is not None and outcome["type"] == "repeat_election"
    assert outcome["reason"] == "against_all"


def test_share_base_valid_excludes_invalid() -> None:
    """With share_base "valid", shares divide by candidate votes + against-all."""
    tally = ElectionTally(small_definition(share_base="valid"))
    tally.apply(P1)
    v = tally.race_view("N1")
    assert [c["pct"] for c in v["candidates"]] == ["64.10", "25.64", "6.41"]  # of 780
    assert v["against_all"] == {"votes": 30, "pct": "3.85"}
    assert v["invalid"] == {"votes": 20, "pct": "2.50"}  # invalid: always of ballots cast


def test_a_majority_race_shows_its_shares_on_its_majority_base() -> None:
    """N2 (majority) in an election with share_base "valid": the view states majority_base
    ballots_cast and shows shares of ballots cast, so the 50.57 % of valid votes that is
    no majority of the 190 ballots cast is shown as 46.84 % beside "runoff"; with
    majority_base "valid" the same count is a winner at 50.57 %."""
    obj = definition_dict(share_base="valid")
    for majority_base, expected in (("ballots_cast", ("runoff", "46.84")), ("valid", None)):
        obj["races"][1]["majority_base"] = majority_base
        defn = decode_definition(obj)
        tally = ElectionTally(defn)
        report = result("N2", "P1", {"D": 89, "E": 87}, invalid=14)
        tally.apply(report)
        v = tally.race_view("N2")
        assert (v["share_base"], v["majority_base"]) == (majority_base, majority_base)
        assert v["outcome"] is not None
        shown = (v["outcome"]["type"], v["candidates"][0]["pct"])
        assert shown == (expected or ("winner", "50.57"))
    plurality = ElectionTally(decode_definition(obj)).race_view("N1")
    assert (plurality["share_base"], plurality["majority_base"]) == ("valid", None)


def test_correction_replaces_the_old_figures(defn: ElectionDefinition) -> None:
    """A higher revision replaces the slot's figures; nothing of the old one remains."""
    tally = ElectionTally(defn)
    tally.apply(P1)
    fixed = result("N1", "P1", {"A": 400, "B": 300, "C": 50}, against_all=30, revision=2)
    res = tally.apply(fixed)
    assert (res.status, res.changed, res.version) == ("applied", True, 2)
    v = tally.race_view("N1")
    assert [c["votes"] for c in v["candidates"]] == [400, 300, 50]
    assert (v["ballots_cast"], v["invalid"]["votes"], v["precincts_reporting"]) == (780, 0, 1)


def test_duplicate_is_a_no_op(defn: ElectionDefinition) -> None:
    """The same report twice: the second is a duplicate and changes nothing."""
    tally = ElectionTally(defn)
    tally.apply(P1)
    before = tally.race_view("N1")
    res = tally.apply(P1)
    assert (res.status, res.changed, res.flags, res.version) == ("duplicate", False, (), 1)
    assert tally.race_view("N1") == before
    assert tally.counters == {"applied": 1, "duplicate": 1, "stale": 0, "conflict": 0}


def test_same_figures_under_a_new_report_id_is_a_duplicate(defn: ElectionDefinition) -> None:
    """A resend with a fresh report_id but the same slot, revision and figures is a duplicate."""
    tally = ElectionTally(defn)
    tally.apply(P1)
    again = result("N1", "P1", {"A": 500, "B": 200, "C": 50}, against_all=30, invalid=20,
                   report_id="resent")  # fmt: skip
    assert tally.apply(again)[:2] == ("duplicate", False)


def test_late_older_revision_is_stale(defn: ElectionDefinition) -> None:
    """Revision 1 arriving after revision 2 is stale and ignored."""
    tally = ElectionTally(defn)
    rev2 = result("N1", "P1", {"A": 1}, revision=2)
    tally.apply(rev2)
    res = tally.apply(P1)
    assert (res.status, res.changed) == ("stale", False)
    assert tally.race_view("N1")["ballots_cast"] == 1


def test_revision_conflict_keeps_the_smaller_encoding_in_any_order(
    defn: ElectionDefinition,
) -> None:
    """Same slot and revision, different figures: a conflict; the smaller bytes win either way."""
    other = result("N1", "P1", {"A": 499, "B": 201, "C": 50}, against_all=30, invalid=20,
                   report_id="r-other")  # fmt: skip
    winner = min((P1, other), key=report_to_bytes)
    views = []
    for first, second in ((P1, other), (other, P1)):
        tally = ElectionTally(defn)
        tally.apply(first)
        res = tally.apply(second)
        assert res.status == "conflict"
        assert res.changed == (second is winner)
        (flag,) = res.flags
        assert flag.code == "revision_conflict"
        assert flag.figures["rival_report_id"] == first.report_id
        assert flag.figures["kept"] == ("arriving" if second is winner else "existing")
        views.append(tally.race_view("N1"))
    assert views[0]["candidates"] == views[1]["candidates"]
    assert views[0]["candidates"][0]["votes"] == winner.votes["A"]


def test_report_id_conflict_is_resolved_deterministically(defn: ElectionDefinition) -> None:
    """One report_id with two contents: a conflict; the smaller encoding survives either way."""
    a = turnout("N1", "P1", "10:00", 100, report_id="dup")
    b = turnout("N1", "P2", "12:00", 50, report_id="dup")
    survivor = min((a, b), key=report_to_bytes)
    for first, second in ((a, b), (b, a)):
        tally = ElectionTally(defn)
        tally.apply(first)
        res = tally.apply(second)
        assert res.status == "conflict"
        assert res.flags[0].code == "report_id_conflict"
        marks = tally.race_view("N1")["turnout_by_mark"]
        reported = [(m["mark"], m["ballots_cast"]) for m in marks if m["precincts_reported"]]
        assert reported == [(survivor.mark, survivor.ballots_cast)]


def test_displaced_winner_restores_the_previous_revision(defn: ElectionDefinition) -> None:
    """If a revision-2 winner loses its report_id to another report, revision 1 wins again."""
    r1 = turnout("N1", "P1", "10:00", 100, revision=1, report_id="t-a")
    r2 = turnout("N1", "P1", "10:00", 120, revision=2, report_id="t-b")
    clash = turnout("N1", "P2", "10:00", 10, revision=1, report_id="t-b")
    assert report_to_bytes(clash) < report_to_bytes(r2)
    tally = ElectionTally(defn)
    for r in (r1, r2, clash):
        tally.apply(r)
    marks = tally.race_view("N1")["turnout_by_mark"][0]
    assert (marks["ballots_cast"], marks["precincts_reported"]) == (110, 2)


def test_turnout_decrease_is_flagged_in_either_order(defn: ElectionDefinition) -> None:
    """A later mark below an earlier one raises turnout_decreased, whichever arrives last."""
    early = turnout("N1", "P1", "10:00", 300)
    late = turnout("N1", "P1", "12:00", 250)
    for first, second in ((early, late), (late, early)):
        tally = ElectionTally(defn)
        assert tally.apply(first).flags == ()
        res = tally.apply(second)
        assert res.status == "applied"  # a soft anomaly: still applied
        (flag,) = res.flags
        assert (flag.code, flag.race_id, flag.precinct_id, flag.mark) == (
            "turnout_decreased", "N1", "P1", "12:00",
        )  # fmt: skip
        assert flag.report_id == second.report_id
        assert flag.figures == {
            "earlier_mark": "10:00",
            "earlier_ballots_cast": 300,
            "later_mark": "12:00",
            "later_ballots_cast": 250,
        }
        assert tally.flags == [flag]


def test_result_below_last_turnout_is_flagged_in_either_order(defn: ElectionDefinition) -> None:
    """A result with fewer ballots than the last turnout mark raises result_below_turnout."""
    t = turnout("N1", "P1", "16:00", 900)
    for first, second in ((t, P1), (P1, t)):
        tally = ElectionTally(defn)
        tally.apply(first)
        (flag,) = tally.apply(second).flags
        assert flag.code == "result_below_turnout"
        assert flag.figures == {
            "result_ballots_cast": 800,
            "turnout_mark": "16:00",
            "turnout_ballots_cast": 900,
        }


def test_result_above_turnout_raises_nothing(defn: ElectionDefinition) -> None:
    """Rising turnout and a result above it are normal: no flags."""
    tally = ElectionTally(defn)
    for r in (turnout("N1", "P1", "10:00", 100), turnout("N1", "P1", "16:00", 700), P1):
        assert tally.apply(r).flags == ()


def _night(tally: ElectionTally) -> None:
    for r in (
        P1, P2, N2,
        turnout("N1", "P1", "10:00", 150), turnout("N1", "P1", "12:00", 400),
        turnout("N1", "P2", "10:00", 60), turnout("S1", "P1", "10:00", 30),
    ):  # fmt: skip
        tally.apply(r)


def test_region_view_folds_its_races(defn: ElectionDefinition) -> None:
    """Region N sums N1 and N2: totals, seats and votes by party, outcomes."""
    tally = ElectionTally(defn)
    _night(tally)
    v = tally.region_view("N")
    assert (v["region_id"], v["name"], v["election_id"], v["test"]) == (
        "N",
        "North",
        "kz-test",
        True,
    )
    assert (v["registered"], v["registered_reporting"], v["ballots_cast"]) == (1720, 1720, 1415)
    assert v["turnout_pct"] == "82.27"
    assert (v["precincts_total"], v["precincts_reporting"], v["precincts_reporting_pct"]) == (
        3,
        3,
        "100",
    )
    assert (v["races_total"], v["races_reporting"], v["races_complete"]) == (2, 2, 2)
    assert v["outcomes"] == {"winner": 2}
    assert v["seats_by_party"] == [{"party": "Nur Otan", "seats": 2}]
    assert v["votes_by_party"] == [
        {"party": "Nur Otan", "votes": 720, "pct": "50.88"},
        {"party": "Auyl", "votes": 500, "pct": "35.34"},
        {"party": "Adal", "votes": 60, "pct": "4.24"},
        {"party": "independent", "votes": 50, "pct": "3.53"},
    ]
    assert v["against_all"] == {"votes": 50, "pct": "3.53"}
    assert v["invalid"] == {"votes": 35, "pct": "2.47"}


def test_national_view_folds_the_regions(defn: ElectionDefinition) -> None:
    """The nation sums both regions; S is counted as not reporting."""
    tally = ElectionTally(defn)
    _night(tally)
    v = tally.national_view()
    assert (v["name"], v["regions_total"], v["races_total"], v["races_complete"]) == (
        "Test election", 2, 3, 2,
    )  # fmt: skip
    assert v["date"] == defn.date
    assert (v["registered"], v["registered_reporting"], v["ballots_cast"]) == (2020, 1720, 1415)
    assert (v["precincts_reporting"], v["precincts_total"], v["precincts_reporting_pct"]) == (
        3,
        4,
        "75",
    )
    assert [p["party"] for p in v["votes_by_party"]] == [
        "Nur Otan", "Auyl", "Adal", "independent", "Ak Zhol",
    ]  # fmt: skip
    marks = [tuple(m.values()) for m in v["turnout_by_mark"]]
    assert marks == [
        ("10:00", 240, 1800, "13.33", 3),
        ("12:00", 400, 1000, "40.00", 1),
        ("16:00", 0, 0, "0.00", 0),
    ]
    assert v["version"] == sum(r["version"] for r in tally.views()["regions"].values())


def test_views_document_shape(defn: ElectionDefinition) -> None:
    """views() has national, every region and every race, each tagged with election and test."""
    tally = ElectionTally(defn)
    _night(tally)
    views = tally.views()
    assert set(views) == {"national", "regions", "races"}
    assert set(views["regions"]) == {"N", "S"} and set(views["races"]) == {"N1", "N2", "S1"}
    every = [views["national"], *views["regions"].values(), *views["races"].values()]
    assert all(v["election_id"] == "kz-test" and v["test"] is True for v in every)
    json.dumps(views)  # JSON-ready


def test_rollups_replace_by_race_id(defn: ElectionDefinition) -> None:
    """Putting the same race view twice into a rollup never double-counts."""
    tally = ElectionTally(defn)
    _night(tally)
    region = RegionRollup(defn, "N")
    for _ in range(3):
        region.put(tally.race_view("N1"))
        region.put(tally.race_view("N2"))
    assert region.view() == tally.region_view("N")
    south = RegionRollup(defn, "S")
    south.put(tally.race_view("S1"))
    nation = NationalRollup(defn)
    for _ in range(2):
        nation.put(region.view())
        nation.put(south.view())
    assert nation.view() == tally.national_view()
    assert nation.view()["ballots_cast"] == 1415


def test_race_state_snapshot_round_trips_through_json(defn: ElectionDefinition) -> None:
    """to_dict is JSON-ready and from_dict restores an equal state and view."""
    state = RaceState(defn, "N1")
    for r in (P1, P2, turnout("N1", "P1", "10:00", 150), result("N1", "P1", {"A": 9}, revision=2)):
        state.apply(r)
    snapshot = json.loads(json.dumps(state.to_dict()))
    restored = RaceState.from_dict(defn, snapshot)
    assert restored.view() == state.view()
    assert restored.to_dict() == state.to_dict()
    assert restored.counters == state.counters


def test_reports_of_another_race_are_refused(defn: ElectionDefinition) -> None:
    """RaceState.apply raises on a report of another race (a routing bug)."""
    with pytest.raises(ValueError, match="not of race"):
        RaceState(defn, "N2").apply(P1)
    with pytest.raises(ValueError, match="unknown race"):
        RaceState(defn, "ZZ")


def test_version_counts_view_changes_only(defn: ElectionDefinition) -> None:
    """version grows by one per state-changing apply and not for duplicates or stale ones."""
    state = RaceState(defn, "N1")
    versions = [
        state.apply(r).version for r in (P1, P1, P2, result("N1", "P1", {"A": 1}, revision=2), P1)
    ]
    assert versions == [1, 1, 2, 3, 3]
    assert state.view()["version"] == 3


def test_rollups_count_the_races_with_an_against_all_line() -> None:
    """Region N has one race with the line (N1, not N2), S one, the nation two; with no
    line anywhere the count is 0 (a reader then shows no against-all figure)."""
    views = ElectionTally(small_definition()).views()
    assert [views["regions"][g]["against_all_races"] for g in ("N", "S")] == [1, 1]
    assert views["national"]["against_all_races"] == 2
    obj = definition_dict()
    for race in obj["races"]:
        race["against_all"] = False
    tally = ElectionTally(decode_definition(obj))
    assert tally.national_view()["against_all_races"] == 0
