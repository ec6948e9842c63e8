"""The kz-2021 reference scenario: its definition, its night, its faults, its command.

The night is folded by the one engine (`ElectionTally`) and compared with
the published tables (services/core/scenario/data, docs/scenario.md).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from votewire.cli import main
from votewire.core.codec import decode_definition, encode_definition
from votewire.core.models import ElectionDefinition, ResultReport, TurnoutReport, slot_key
from votewire.core.percent import pct
from votewire.core.scenario import (
    NO_FAULTS,
    Emitted,
    FaultRates,
    final_results,
    kz2021_definition,
    kz2021_scenario,
    load_reference,
    simulate_night,
)
from votewire.core.scenario.apportion import apportion
from votewire.core.scenario.reference import AGAINST_ALL, INVALID, PARTY_IDS
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report
from votewire.core.views import Views

SEED = 2021
REF = load_reference()
WESTERN = {"aktobe", "atyrau", "mangystau", "west_kazakhstan", "kyzylorda"}


@pytest.fixture(scope="module")
def definition() -> ElectionDefinition:
    return kz2021_definition(SEED)


@pytest.fixture(scope="module")
def night(definition: ElectionDefinition) -> list[Emitted]:
    return simulate_night(definition, seed=SEED)


@pytest.fixture(scope="module")
def views(definition: ElectionDefinition, night: list[Emitted]) -> Views:
    tally = ElectionTally(definition)
    for emitted in night:
        assert not isinstance(emitted.payload, dict)
        tally.apply(emitted.payload)
    return tally.views()


@pytest.fixture(scope="module")
def faulty_night(definition: ElectionDefinition) -> list[Emitted]:
    return simulate_night(definition, seed=SEED, faults=FaultRates.uniform(0.05))


def _without_versions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_versions(v) for k, v in value.items() if k != "version"}
    if isinstance(value, list):
        return [_without_versions(v) for v in value]
    return value


def _region_of(definition: ElectionDefinition, race_id: str) -> str:
    race = definition.race(race_id)
    assert race is not None
    return race.region_id


def _seats(view: Any) -> dict[str, int]:
    return {line["party"]: line["seats"] for line in view["seats_by_party"]}


# --- the published tables -------------------------------------------------


def test_reference_tables_load_with_their_published_sums() -> None:
    """The packaged tables: 14 regions, 730 akims, 2,307 candidates, Akmola 75,833; the
    races announced per region sum to 737, not the 743 the sources' text gives."""
    assert len(REF.regions) == 14
    assert sum(r.akims_elected for r in REF.regions) == 730
    assert sum(c.total for c in REF.candidates.values()) == 2307
    assert sum(c.local_races_announced for c in REF.candidates.values()) == 737
    assert REF.akmola_total == 75833
    assert REF.registered == 1_209_818
    assert REF.ballots_cast == 956_984


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 100), st.integers(0, 1000)), min_size=1, max_size=30),
    st.data(),
)
def test_apportion_splits_exactly_within_caps(parts: list[tuple[float, int]], data: Any) -> None:
    """apportion: parts sum to the total, each between 0 and its cap."""
    weights, caps = [w for w, _ in parts], [c for _, c in parts]
    total = data.draw(st.integers(0, sum(caps)))
    split = apportion(total, weights, caps)
    assert sum(split) == total
    assert all(0 <= s <= c for s, c in zip(split, caps, strict=True))


# --- the definition -------------------------------------------------------


def test_definition_has_14_regions_730_races_1847_precincts(definition: ElectionDefinition) -> None:
    """Shape as published: 14 regions, 730 races, 1,847 precincts, each race with one at least."""
    assert len(definition.regions) == 14
    assert len(definition.races) == 730
    assert sum(len(r.precincts) for r in definition.races) == 1847
    assert all(r.precincts for r in definition.races)
    for figures in REF.regions:
        assert len(definition.races_in(figures.region_id)) == figures.akims_elected


def test_registered_per_region_is_exactly_as_published(definition: ElectionDefinition) -> None:
    """Registered voters of each region's precincts sum to the published figure."""
    for figures in REF.regions:
        races = definition.races_in(figures.region_id)
        assert sum(r.registered for r in races) == figures.registered, figures.region_id


def test_precincts_are_rural_sized(definition: ElectionDefinition) -> None:
    """Precincts hold a few hundred to a couple of thousand voters (100 to 3,000)."""
    sizes = sorted(p.registered for r in definition.races for p in r.precincts)
    assert sizes[0] >= 100 and sizes[-1] <= 3000
    assert 300 <= sizes[len(sizes) // 2] <= 1000


def test_definition_metadata_and_rules(definition: ElectionDefinition) -> None:
    """Election id, date, zones (UTC+5 in the west), marks, share base, plurality + ignore."""
    assert definition.election_id == "kz-2021-rural-akims"
    assert definition.date == "2021-07-25"
    assert definition.timezone == "Asia/Almaty"
    assert definition.turnout_marks == ("10:00", "12:00", "14:00", "16:00", "18:00", "20:00")
    assert definition.share_base == "ballots_cast"
    assert definition.test is False
    zones = {r.region_id: r.timezone for r in definition.regions}
    assert zones == {
        **{r.region_id: None for r in REF.regions},
        "aktobe": "Asia/Aqtobe",
        "atyrau": "Asia/Atyrau",
        "mangystau": "Asia/Aqtau",
        "west_kazakhstan": "Asia/Oral",
        "kyzylorda": "Asia/Qyzylorda",
    }
    for race in definition.races:
        assert (race.seats, race.winner_rule, race.against_all, race.against_all_rule) == (
            1, "plurality", True, "ignore",
        )  # fmt: skip
        assert race.name and all(p.name for p in race.precincts)


def test_candidates_follow_the_published_party_mix(definition: ElectionDefinition) -> None:
    """Candidates per region and party as published; Almaty's 6 extra Nur Otan winners
    stand as Nur Otan instead of as independents (the table has 51 for 57 wins)."""
    for figures in REF.regions:
        rid = figures.region_id
        got = Counter(c.party for r in definition.races_in(rid) for c in r.candidates)
        expected = {p: n for p, n in REF.candidates[rid].by_party.items() if n}
        if rid == "almaty_region":
            expected["nur_otan"] += 6
            expected["independent"] -= 6
        assert dict(got) == expected, rid
        assert all(len(r.candidates) >= 2 for r in definition.races_in(rid))
    for race in definition.races:
        parties = [c.party for c in race.candidates if c.party != "independent"]
        assert len(parties) == len(set(parties)), race.race_id


def test_the_party_registry_names_the_real_parties(
    definition: ElectionDefinition, views: Views
) -> None:
    """The definition carries the published party names, each with its own colour; every
    candidate's party is one of them, and the national view publishes the registry."""
    names = {p.party_id: p.name for p in definition.parties}
    assert names == {
        "nur_otan": "Nur Otan",
        "auyl": "Auyl People's Democratic Patriotic Party",
        "peoples_party": "People's Party of Kazakhstan",
        "ak_zhol": "Ak Zhol Democratic Party",
        "adal": "Adal",
        "nsdp": "Nationwide Social Democratic Party",
        "independent": "Independent",
    }
    assert {p.short_name for p in definition.parties} >= {"Nur Otan", "Auyl", "Ak Zhol", "NSDP"}
    colors = [p.color for p in definition.parties]
    assert len(set(colors)) == len(colors) and all(colors)
    assert {c.party for r in definition.races for c in r.candidates} <= set(names)
    published = views["national"]["parties"]
    assert [(p["party_id"], p["color"]) for p in published] == [
        (p.party_id, p.color) for p in definition.parties
    ]


def test_definition_is_deterministic_for_a_seed() -> None:
    """The same seed gives an equal definition; another seed a different one."""
    kz2021_scenario.cache_clear()
    first = kz2021_definition(7)
    kz2021_scenario.cache_clear()
    assert kz2021_definition(7) == first
    assert encode_definition(kz2021_definition(7)) == encode_definition(first)
    assert kz2021_definition(8) != first


def test_definition_round_trips_through_the_codec(definition: ElectionDefinition) -> None:
    """decode_definition(encode_definition(d)) == d, so a written night can be re-simulated."""
    decoded = decode_definition(json.loads(json.dumps(encode_definition(definition))))
    assert decoded == definition
    assert len(simulate_night(decoded, seed=SEED)) == 1847 * 7


# --- the clean night ------------------------------------------------------


def test_folded_night_reproduces_every_row_of_regions_csv(views: Views) -> None:
    """Per region: registered, ballots cast and akims per party exactly as published."""
    for figures in REF.regions:
        view = views["regions"][figures.region_id]
        assert view["registered"] == figures.registered, figures.region_id
        assert view["ballots_cast"] == figures.ballots_cast, figures.region_id
        won = {p: n for p, n in figures.akims_by_party.items() if n}
        assert _seats(view) == won, figures.region_id
        assert (view["races_complete"], view["outcomes"]) == (
            figures.akims_elected, {"winner": figures.akims_elected},
        )  # fmt: skip


def test_turnout_per_region_equals_the_published_figure(views: Views) -> None:
    """Computed turnout (half-up, two decimals) equals the published one in 13 regions."""
    for figures in REF.regions:
        if figures.region_id == "east_kazakhstan":
            continue
        view = views["regions"][figures.region_id]
        assert view["turnout_pct"] == figures.turnout_pct_published, figures.region_id


def test_east_kazakhstan_turnout_is_90_89_computed_vs_90_88_published(views: Views) -> None:
    """101,184 / 111,328 = 90.889 %: the view says 90.89, the commission published 90.88."""
    view = views["regions"]["east_kazakhstan"]
    assert (view["ballots_cast"], view["registered"]) == (101_184, 111_328)
    assert view["turnout_pct"] == "90.89"
    assert REF.region("east_kazakhstan").turnout_pct_published == "90.88"


def test_akmola_votes_by_party_reproduce_the_published_table(views: Views) -> None:
    """Akmola: votes per party, against-all 4,880 and invalid 3,074, total 75,833, exact."""
    view = views["regions"]["akmola"]
    by_party = {line["party"]: line["votes"] for line in view["votes_by_party"]}
    for line in REF.akmola_votes:
        if line.choice == AGAINST_ALL:
            assert view["against_all"]["votes"] == line.votes == 4880
        elif line.choice == INVALID:
            assert view["invalid"]["votes"] == line.votes == 3074
        else:
            assert by_party[line.choice] == line.votes, line.label
    assert by_party.get("nsdp", 0) == 0
    assert sum(by_party.values()) + 4880 + 3074 == view["ballots_cast"] == 75_833
    akims = {line.choice: line.akims for line in REF.akmola_votes if line.akims}
    assert _seats(view) == akims


def test_akmola_percentages_differ_from_the_published_ones_where_it_erred(views: Views) -> None:
    """Shares of 75,833 ballots match the table except Nur Otan, Independent, People's
    Party and against-all, whose published figures are truncated or wrong (sum 100.05)."""
    view = views["regions"]["akmola"]
    computed = {line["party"]: line["pct"] for line in view["votes_by_party"]}
    computed[AGAINST_ALL] = view["against_all"]["pct"]
    computed[INVALID] = view["invalid"]["pct"]
    differ = {
        line.choice: (computed[line.choice], line.pct_published)
        for line in REF.akmola_votes
        if computed[line.choice] != line.pct_published
    }
    assert differ == {
        "nur_otan": ("60.80", "60.79"),
        "independent": ("23.95", "24.02"),
        "peoples_party": ("2.39", "2.38"),
        AGAINST_ALL: ("6.44", "6.43"),
    }


def test_national_registered_is_1209818_one_more_than_the_published_1209817(views: Views) -> None:
    """The nation folds the regions: 1,209,818 registered (published: 1,209,817), turnout 79.10."""
    national = views["national"]
    assert national["registered"] == 1_209_818 == 1_209_817 + 1
    assert national["ballots_cast"] == 956_984
    assert national["turnout_pct"] == "79.10" == pct(956_984, 1_209_817)
    assert (national["precincts_total"], national["races_complete"]) == (1847, 730)


def test_national_seats_are_the_regional_sums_not_the_published_national_table(
    views: Views,
) -> None:
    """Seats fold from the regions (Nur Otan 563), not the national table (627)."""
    seats = _seats(views["national"])
    assert seats == {
        p: sum(r.akims_by_party[p] for r in REF.regions)
        for p in PARTY_IDS
        if any(r.akims_by_party[p] for r in REF.regions)
    }
    assert seats["nur_otan"] == 563 and seats["independent"] == 98 and seats["auyl"] == 32
    assert sum(seats.values()) == 730


def test_every_race_has_a_clear_winner_as_planned(views: Views) -> None:
    """Each race ends with one winner, strictly ahead, the scenario's planned candidate."""
    winners = kz2021_scenario(SEED).winners
    for race_id, view in views["races"].items():
        assert view["outcome"] is not None and view["outcome"]["type"] == "winner"
        assert view["outcome"]["candidate_id"] == winners[race_id] == view["leader"]
        assert view["margin"] is not None and view["margin"]["votes"] > 0


def test_result_protocols_add_up(definition: ElectionDefinition) -> None:
    """Per precinct: votes + against_all + invalid == ballots_cast <= registered."""
    results = final_results(definition, seed=SEED)
    assert len(results) == 1847
    for r in results:
        assert sum(r.votes.values()) + r.against_all + r.invalid == r.ballots_cast
        assert r.ballots_cast <= r.registered
        precinct = definition.precinct(r.race_id, r.precinct_id)
        assert precinct is not None and r.registered == precinct.registered


def test_turnout_rises_monotonically_to_the_final_ballots(night: list[Emitted]) -> None:
    """Each precinct's six marks never decrease and end at its result's ballots cast."""
    marks: dict[str, dict[str, int]] = defaultdict(dict)
    final: dict[str, int] = {}
    for e in night:
        if isinstance(e.payload, TurnoutReport):
            marks[e.payload.precinct_id][e.payload.mark] = e.payload.ballots_cast
        elif isinstance(e.payload, ResultReport):
            final[e.payload.precinct_id] = e.payload.ballots_cast
    assert len(marks) == len(final) == 1847
    for precinct_id, by_mark in marks.items():
        series = [by_mark[m] for m in sorted(by_mark)]
        assert len(series) == 6
        assert series == sorted(series)
        assert series[-1] == final[precinct_id]


def test_jambyl_over_30_pct_by_noon_and_78_70_by_16(views: Views) -> None:
    """Jambyl's day as reported: over 30 % at 12:00, 78.7 % at 16:00, 90.66 % final."""
    lines = {m["mark"]: m for m in views["regions"]["jambyl"]["turnout_by_mark"]}
    assert float(lines["12:00"]["pct"]) > 30
    assert lines["16:00"]["pct"] == "78.70"
    assert lines["20:00"]["pct"] == "90.66"
    national = [m["pct"] for m in views["national"]["turnout_by_mark"]]
    assert [float(x) for x in national] == sorted(float(x) for x in national)


def test_reports_are_stamped_in_local_time_after_their_marks(
    definition: ElectionDefinition, night: list[Emitted]
) -> None:
    """UTC+5 in the west, +6 elsewhere; turnout 2-40 min after the mark; results after 20:00."""
    for e in night:
        report = e.payload
        assert isinstance(report, TurnoutReport | ResultReport)
        region = _region_of(definition, report.race_id)
        offset = timedelta(hours=5 if region in WESTERN else 6)
        assert report.reported_at.utcoffset() == offset
        local = report.reported_at.replace(tzinfo=None)
        if isinstance(report, TurnoutReport):
            hour, minute = map(int, report.mark.split(":"))
            after = local - local.replace(hour=hour, minute=minute, second=0)
            assert timedelta(minutes=2) <= after <= timedelta(minutes=40)
        else:
            assert timedelta(minutes=40) <= local - local.replace(
                day=25, hour=20, minute=0, second=0
            ) <= timedelta(hours=9)  # fmt: skip


def test_clean_night_has_unique_ids_revision_1_in_delivery_order(night: list[Emitted]) -> None:
    """12,929 clean reports: unique report_ids, revision 1, offsets ascending from >= 0."""
    assert len(night) == 1847 * 7
    reports = [e.payload for e in night if not isinstance(e.payload, dict)]
    assert len(reports) == len(night)
    assert len({r.report_id for r in reports}) == len(reports)
    assert {r.revision for r in reports} == {1}
    assert all(e.fault is None for e in night)
    offsets = [e.offset_seconds for e in night]
    assert offsets == sorted(offsets) and offsets[0] >= 0


def test_night_is_deterministic_for_a_seed(definition: ElectionDefinition) -> None:
    """Simulating twice gives the same timeline, faults included."""
    rates = FaultRates.uniform(0.1)
    first = simulate_night(definition, seed=SEED, faults=rates)
    second = simulate_night(definition, seed=SEED, faults=rates)
    assert [(e.offset_seconds, e.wire(), e.fault) for e in first] == [
        (e.offset_seconds, e.wire(), e.fault) for e in second
    ]


def test_night_refuses_a_definition_of_another_seed(definition: ElectionDefinition) -> None:
    """The night's truth belongs to its seed: a mismatched seed is a ValueError."""
    with pytest.raises(ValueError, match="seed 5"):
        simulate_night(definition, seed=5)


# --- faults -----------------------------------------------------------------


def test_faulty_night_valid_reports_reproduce_the_clean_views(
    definition: ElectionDefinition, faulty_night: list[Emitted], views: Views
) -> None:
    """With --faults 0.05, the reports validation accepts fold to the clean night's views."""
    tally = ElectionTally(definition)
    for e in faulty_night:
        verdict = validate_report(e.wire(), definition)
        if isinstance(verdict, Accepted):
            tally.apply(verdict.report)
    assert _without_versions(tally.views()) == _without_versions(views)
    assert tally.counters["duplicate"] > 0 and tally.counters["stale"] > 0


def test_malformed_reports_are_all_rejected_with_their_code(
    definition: ElectionDefinition, faulty_night: list[Emitted]
) -> None:
    """Every malformed payload is rejected, with the code its fault label names; no other is."""
    malformed = 0
    for e in faulty_night:
        verdict = validate_report(e.wire(), definition)
        if e.malformed:
            malformed += 1
            assert not isinstance(verdict, Accepted), e
            assert e.fault is not None and e.fault.startswith("malformed:")
            assert e.fault.removeprefix("malformed:") in {p.code for p in verdict.problems}
        else:
            assert isinstance(verdict, Accepted), (e, verdict)
    assert malformed > 0


def test_faulty_night_has_every_kind_of_fault(faulty_night: list[Emitted]) -> None:
    """At 5 %, the night holds duplicates, corrections, stale, late, reordered, malformed."""
    kinds = Counter((e.fault or "clean").split(":")[0] for e in faulty_night)
    for kind in ("duplicate", "wrong_figures", "correction", "stale", "late", "reordered"):
        assert kinds[kind] > 0, kind
    assert kinds["malformed"] > 0
    assert kinds["correction"] == kinds["wrong_figures"] + kinds["stale"]
    offsets = [e.offset_seconds for e in faulty_night]
    assert offsets == sorted(offsets)


def test_corrections_replace_wrong_figures_and_stale_ones_come_after(
    faulty_night: list[Emitted],
) -> None:
    """A correction is revision 2 of a slot whose revision 1 had other figures;
    a stale revision 1 is delivered after its correction."""
    delivered: dict[Any, list[Emitted]] = defaultdict(list)
    for e in faulty_night:
        if not isinstance(e.payload, dict):
            delivered[slot_key(e.payload)].append(e)
    corrected = [d for d in delivered.values() if any(e.fault == "correction" for e in d)]
    assert corrected
    for deliveries in corrected:
        fix = next(e for e in deliveries if e.fault == "correction")
        assert fix.wire()["revision"] == 2
        wrong = [e for e in deliveries if e.fault in ("wrong_figures", "stale")]
        assert len(wrong) == 1 and wrong[0].wire()["revision"] == 1
        assert wrong[0].wire() != {**fix.wire(), "revision": 1}
        if wrong[0].fault == "stale":
            assert wrong[0].offset_seconds > fix.offset_seconds


def test_fault_rates_are_probabilities() -> None:
    """FaultRates rejects rates outside [0, 1]; uniform() sets all five; NO_FAULTS is off."""
    with pytest.raises(ValueError):
        FaultRates(duplicates=1.5)
    assert FaultRates.uniform(0.2) == FaultRates(0.2, 0.2, 0.2, 0.2, 0.2)
    assert not NO_FAULTS.any and FaultRates(late=0.01).any


# --- scale ------------------------------------------------------------------


def test_scale_2_doubles_the_election() -> None:
    """--scale 2: twice the races, precincts and region totals; protocols still add up."""
    definition = kz2021_definition(SEED, scale=2)
    assert len(definition.races) == 1460
    assert sum(len(r.precincts) for r in definition.races) == 3694
    results = final_results(definition, seed=SEED)
    by_region: Counter[str] = Counter()
    for r in results:
        by_region[_region_of(definition, r.race_id)] += r.ballots_cast
    assert by_region == {f.region_id: 2 * f.ballots_cast for f in REF.regions}


# --- the command ------------------------------------------------------------


def test_command_writes_definition_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenario kz-2021 --out DIR --faults 0.05` writes both files, UTF-8, one report a line,
    and a one-line summary; the files fold back to the published national totals."""
    out = tmp_path / "night"
    assert main(["scenario", "kz-2021", "--out", str(out), "--faults", "0.05"]) == 0
    summary = capsys.readouterr().out
    assert summary.count("\n") == 1 and "1847 precincts" in summary
    definition = decode_definition(json.loads((out / "definition.json").read_text("utf-8")))
    assert definition == kz2021_definition(SEED)
    text = (out / "reports.jsonl").read_text("utf-8")
    assert "ауыл" not in text  # reports carry ids, not names
    assert "ауыл" in (out / "definition.json").read_text("utf-8")  # kept as UTF-8, not \\u
    lines = text.splitlines()
    assert len(lines) == len(simulate_night(definition, seed=SEED, faults=FaultRates.uniform(0.05)))
    tally = ElectionTally(definition)
    rejected = 0
    for line in lines:
        verdict = validate_report(json.loads(line), definition)
        if isinstance(verdict, Accepted):
            tally.apply(verdict.report)
        else:
            rejected += 1
    national = tally.national_view()
    assert (national["registered"], national["ballots_cast"]) == (1_209_818, 956_984)
    assert rejected > 0


def test_command_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fault rate above 1 or a scale below 1 exits with status 2 and writes nothing."""
    assert main(["scenario", "kz-2021", "--out", str(tmp_path / "a"), "--faults", "2"]) == 2
    assert main(["scenario", "kz-2021", "--out", str(tmp_path / "b"), "--scale", "0"]) == 2
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert "--faults" in capsys.readouterr().err
