"""The national reference scenario: its definition, its faulty night and its pure fold."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from votewire.cli import main
from votewire.core.codec import decode_definition, encode_definition
from votewire.core.scenario import FaultRates, simulate_night
from votewire.core.scenario.kz2021 import Scenario
from votewire.core.scenario.national import (
    PRESIDENT,
    national_definition,
    national_scenario,
    region_of_precinct,
)
from votewire.core.scenario.timeline import Emitted
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report

PRECINCTS, REGIONS, SEED = 3000, 16, 11


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return national_scenario(PRECINCTS, REGIONS, SEED)


@pytest.fixture(scope="module")
def faulty(scenario: Scenario) -> list[Emitted]:
    return simulate_night(scenario.definition, seed=SEED, faults=FaultRates.uniform(0.05))


def test_one_majority_race_over_every_precinct_tagged_with_its_region(
    scenario: Scenario,
) -> None:
    """president: majority, against-all, every precinct once, spanning every region; each
    precinct names its region (in its id too) and a district of that region; each region
    has a local plurality race on its own precincts."""
    definition = scenario.definition
    president = definition.race(PRESIDENT)
    assert president is not None and len(president.precincts) == PRECINCTS
    assert (president.winner_rule, president.against_all) == ("majority", True)
    assert president.region_id is None
    regions = {r.region_id for r in definition.regions}
    assert len(regions) == REGIONS and "region-16" in regions
    tagged = Counter(region_of_precinct(p.precinct_id) for p in president.precincts)
    assert set(tagged) == regions and min(tagged.values()) >= 1
    assert all(region_of_precinct(p.precinct_id) == p.region_id for p in president.precincts)
    districts = {d.district_id: d.region_id for d in definition.districts}
    assert all(districts[p.district_id] == p.region_id for p in president.precincts)  # type: ignore[index]
    assert set(definition.race_regions(PRESIDENT)) == regions
    locals_ = [r for r in definition.races if r.race_id != PRESIDENT]
    assert len(locals_) == REGIONS
    for race in locals_:
        assert race.winner_rule == "plurality"
        assert {region_of_precinct(p.precinct_id) for p in race.precincts} == {race.region_id}
        assert all(definition.precinct(PRESIDENT, p.precinct_id) for p in race.precincts)


def test_definition_is_deterministic_and_round_trips(scenario: Scenario) -> None:
    """Same arguments, equal definition; the codec gives it back exactly."""
    definition = scenario.definition
    assert national_definition(PRECINCTS, REGIONS, SEED) == definition
    assert national_definition(PRECINCTS, REGIONS, SEED + 1) != definition
    assert decode_definition(json.loads(json.dumps(encode_definition(definition)))) == definition


def test_the_pure_fold_of_the_faulty_night_is_the_truth(
    scenario: Scenario, faulty: list[Emitted]
) -> None:
    """Every report validation accepts, folded: every race equals the sum of its precincts'
    protocols and is won by the planned winner (the president outright, above 50 %)."""
    definition = scenario.definition
    tally = ElectionTally(definition)
    for e in faulty:
        verdict = validate_report(e.wire(), definition)
        if isinstance(verdict, Accepted):
            tally.apply(verdict.report)
    for race in definition.races:
        view = tally.race_view(race.race_id)
        truth = [p for p in scenario.protocols if p.race_id == race.race_id]
        assert view["ballots_cast"] == sum(p.ballots_cast for p in truth)
        assert view["against_all"]["votes"] == sum(p.against_all for p in truth)
        votes = {c["candidate_id"]: c["votes"] for c in view["candidates"]}
        assert votes == {c: sum(p.votes[c] for p in truth) for c in votes}
        assert view["status"] == "complete"
        assert view["outcome"]["candidate_id"] == scenario.winners[race.race_id]
    president = tally.race_view(PRESIDENT)
    assert president["outcome"]["type"] == "winner"
    assert tally.counters["duplicate"] > 0 and tally.counters["stale"] > 0
    assert tally.counters["conflict"] == 0


def test_the_faults_are_those_of_kz_2021(faulty: list[Emitted], scenario: Scenario) -> None:
    """Duplicates, corrections, stale, late, reordered and malformed deliveries; every
    malformed one is rejected with the code its label names; report ids are unique."""
    kinds = Counter((e.fault or "clean").split(":")[0] for e in faulty)
    for kind in ("duplicate", "wrong_figures", "correction", "stale", "late", "reordered"):
        assert kinds[kind] > 0, kind
    for e in faulty:
        if e.malformed:
            verdict = validate_report(e.wire(), scenario.definition)
            assert not isinstance(verdict, Accepted)
            assert (e.fault or "").removeprefix("malformed:") in {p.code for p in verdict.problems}
    clean = simulate_night(scenario.definition, seed=SEED)
    ids = [e.wire()["report_id"] for e in clean]
    assert len(ids) == len(set(ids))


def test_command_writes_a_national_night(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenario national --precincts N --regions R` writes the definition and the night;
    impossible sizes exit 2."""
    def run(*argv: str) -> int:
        return main(["scenario", "national", *argv])

    out = tmp_path / "night"
    assert run("--precincts", "400", "--regions", "3", "--seed", "5", "--out", str(out)) == 0
    assert "precincts=400" in capsys.readouterr().out
    written = decode_definition(json.loads((out / "definition.json").read_text("utf-8")))
    assert written == national_definition(400, 3, 5)
    lines = (out / "reports.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == len(simulate_night(written, seed=5))
    assert run("--precincts", "2", "--regions", "3", "--out", str(tmp_path / "x")) == 2
