"""Properties of the fold: order independence, idempotency, corrections, snapshots."""

from __future__ import annotations

import json
from typing import Any

from builders import AT, ELECTION, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from votewire.core.codec import dumps
from votewire.core.models import Report, ResultReport, TurnoutReport, slot_key
from votewire.core.race_state import RaceState
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.tally import ElectionTally

DEFN = reference()
SLOTS = [
    (race.race_id, p.precinct_id, mark)
    for race in DEFN.races
    for p in race.precincts
    for mark in (*DEFN.turnout_marks, "")
]


@st.composite
def reports(draw: st.DrawFn, clashing_ids: bool = True) -> Report:
    race_id, precinct_id, mark = draw(st.sampled_from(SLOTS))
    revision = draw(st.integers(1, 3))
    race = DEFN.race(race_id)
    assert race is not None
    if clashing_ids and draw(st.integers(0, 4)) == 0:
        rid = draw(st.sampled_from(["x", "y"]))  # forces report-id conflicts
    else:
        rid = draw(st.text("abcdef0123", min_size=1, max_size=10))
    if mark:
        ballots = draw(st.integers(0, 400))
        return TurnoutReport(rid, ELECTION, race_id, precinct_id, mark, ballots, revision, AT)
    votes = {c.candidate_id: draw(st.integers(0, 200)) for c in race.candidates}
    against_all = draw(st.integers(0, 20)) if race.against_all else 0
    invalid = draw(st.integers(0, 20))
    registered = draw(st.integers(900, 1100))
    ballots = sum(votes.values()) + against_all + invalid
    return ResultReport(
        rid, ELECTION, race_id, precinct_id, registered, ballots, votes, against_all, invalid,
        revision, AT,
    )  # fmt: skip


def strip_versions(value: Any) -> Any:
    """The views without their `version` fields (which count changes, so depend on order)."""
    if isinstance(value, dict):
        return {k: strip_versions(v) for k, v in value.items() if k != "version"}
    if isinstance(value, list):
        return [strip_versions(v) for v in value]
    return value


def fold(items: list[Report]) -> ElectionTally:
    tally = ElectionTally(DEFN)
    for r in items:
        tally.apply(r)
    return tally


def snapshots(tally: ElectionTally) -> dict[str, Any]:
    out = {}
    for race_id, state in tally.races.items():
        snap = state.to_dict()
        out[race_id] = snap["reports"]
    return out


@settings(max_examples=300)
@given(st.lists(reports(), max_size=25), st.data())
def test_any_order_and_any_repetition_give_identical_views(
    items: list[Report], data: st.DataObject
) -> None:
    """Permuting and duplicating a report set changes neither the views nor the stored state."""
    extra = data.draw(st.lists(st.sampled_from(items), max_size=10)) if items else []
    shuffled = data.draw(st.permutations(items + extra))
    a, b = fold(items), fold(shuffled)
    assert strip_versions(a.views()) == strip_versions(b.views())
    assert snapshots(a) == snapshots(b)


@given(st.lists(reports(clashing_ids=False), max_size=25, unique_by=lambda r: r.report_id))
def test_highest_revision_per_slot_decides_the_view(items: list[Report]) -> None:
    """With distinct ids and one report per slot and revision, only the top revisions count."""
    by_slot_rev: dict[Any, Report] = {}
    for r in items:
        by_slot_rev.setdefault((slot_key(r), r.revision), r)
    distinct = list(by_slot_rev.values())
    top: dict[Any, Report] = {}
    for r in distinct:
        if slot_key(r) not in top or r.revision > top[slot_key(r)].revision:
            top[slot_key(r)] = r
    assert strip_versions(fold(distinct).views()) == strip_versions(
        fold(list(top.values())).views()
    )


@given(
    st.lists(reports(clashing_ids=False), min_size=1, max_size=20, unique_by=lambda r: r.report_id)
)
def test_a_lower_revision_never_wins(items: list[Report]) -> None:
    """After any fold, a report below its slot winner's revision is stale and changes nothing."""
    tally = fold(items)
    before = tally.views()
    for i, r in enumerate(items):
        winner = tally.races[r.race_id]._book.winner(slot_key(r))
        assert winner is not None
        if winner.revision > 1:
            late = type(r)(
                **{**_fields(r), "report_id": f"late-{i}", "revision": winner.revision - 1}
            )
            res = tally.apply(late)
            assert (res.status, res.changed) == ("stale", False)
    assert tally.views() == before


def _fields(r: Report) -> dict[str, Any]:
    return {name: getattr(r, name) for name in r.__dataclass_fields__ if name != "kind"}


@given(st.lists(reports(), max_size=25), st.integers(0, 25))
def test_snapshot_and_restore_mid_stream_changes_nothing(items: list[Report], cut: int) -> None:
    """Snapshotting every RaceState through JSON mid-stream and restoring gives the same end."""
    whole = fold(items)
    tally = fold(items[:cut])
    resumed = ElectionTally(DEFN)
    for race_id, state in tally.races.items():
        snap = json.loads(state.to_bytes())
        resumed.races[race_id] = RaceState.from_dict(DEFN, snap)
        resumed.races[race_id].to_bytes()  # its per-report cache must follow what comes next
    for r in items[cut:]:
        resumed.apply(r)
    for race_id in whole.races:
        assert resumed.races[race_id].view() == whole.races[race_id].view()
        assert resumed.races[race_id].to_dict() == whole.races[race_id].to_dict()
        assert resumed.races[race_id].to_bytes() == dumps(whole.races[race_id].to_dict())


@given(st.lists(reports(), max_size=25))
def test_second_stage_from_race_snapshots_matches_the_tally(items: list[Report]) -> None:
    """Rollups fed with race views rebuilt from snapshots equal the facade's views."""
    tally = fold(items)
    regions = {r.region_id: RegionRollup(DEFN, r.region_id) for r in DEFN.regions}
    for state in tally.races.values():
        if state.version:
            restored = RaceState.from_dict(DEFN, json.loads(json.dumps(state.to_dict())))
            regions[state.race.region_id].put(restored.view())
    nation = NationalRollup(DEFN)
    for rollup in regions.values():
        nation.put(rollup.view())
    assert nation.view() == tally.national_view()
    assert {k: r.view() for k, r in regions.items()} == tally.views()["regions"]


@given(st.lists(reports(), max_size=30), st.randoms(use_true_random=False))
def test_incremental_region_rollup_equals_a_full_refold(items: list[Report], rnd: Any) -> None:
    """Every race view put into a `RegionRollup` (in any order, stale ones too) leaves
    it equal to `region_view` of the views it last received, race by race."""
    from votewire.core.rollup import region_view

    states = {race.race_id: RaceState(DEFN, race.race_id) for race in DEFN.races}
    published = []
    for r in items:
        state = states[r.race_id]
        if state.apply(r).changed:
            published.append(state.view())
    rnd.shuffle(published)
    for region in DEFN.regions:
        rollup = RegionRollup(DEFN, region.region_id)
        latest = {
            race.race_id: RaceState(DEFN, race.race_id).view()
            for race in DEFN.races_in(region.region_id)
        }
        for view in published:
            if view["region_id"] == region.region_id:
                rollup.put(view)
                latest[view["race_id"]] = view
                assert rollup.view() == region_view(DEFN, region.region_id, latest.values())
