"""Nights through ingest and the aggregate: Redis ends up with exactly the pure engine's views.

The expected documents are the pure fold (`ElectionTally`) of the reports as
they sit on the reports topic (each race in its partition order, which is
the order the aggregate folds them in, so even versions must match).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from votewire.aggregate.channels import all_channels, region_channel, summary_channel
from votewire.core.codec import decode_definition, dumps, encode_definition, loads
from votewire.core.scenario import FaultRates, kz2021_definition, load_reference, simulate_night
from votewire.launcher import ServiceProcess, start_services

from tests.support.aggregate_night import (
    expected_outputs,
    produce_reports,
    read_reports,
    redis_outputs,
    tally_of,
    wait_for_outputs,
)
from tests.support.definitions import result_report, tiny_definition
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

Deployment = tuple[dict[str, str], dict[str, ServiceProcess]]


@pytest.fixture
def ingest_and_aggregate(tmp_path: Path) -> Iterator[Deployment]:
    """ingest + aggregate, isolated, without ingest's rate limit; stopped afterwards."""
    env = {**isolated_env("agg"), "VOTEWIRE_INGEST_RATE": "0"}
    procs = start_services(env, tmp_path / "logs", names=("ingest", "aggregate"))
    try:
        yield env, procs
    finally:
        for proc in procs.values():
            proc.stop()


def turnout(report_id: str, race: str, precinct: str, mark: str, ballots: int) -> dict[str, Any]:
    return {
        "kind": "turnout",
        "report_id": report_id,
        "election_id": "tiny-2026",
        "race_id": race,
        "precinct_id": precinct,
        "mark": mark,
        "ballots_cast": ballots,
        "revision": 1,
        "reported_at": "2026-07-25T12:05:00+06:00",
    }


def small_night() -> list[list[dict[str, Any]]]:
    """Three POSTs (12 reports): reordered turnout, a correction sent before the wrong
    figures, and two repeated reports (which ingest answers without re-publishing)."""
    wrong = result_report("p1-r1", "r1", "p1", 1000, {"c1": 300, "c2": 400}, 50, 10)
    right = result_report("p1-r2", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10, revision=2)
    p3 = result_report("p3-r1", "r2", "p3", 800, {"c3": 350, "c4": 250}, 20, 5)
    return [
        [
            turnout("t-p1-12", "r1", "p1", "12:00", 420),  # 12:00 arrives before 10:00
            turnout("t-p1-10", "r1", "p1", "10:00", 150),
            turnout("t-p2-10", "r1", "p2", "10:00", 90),
            turnout("t-p3-10", "r2", "p3", "10:00", 200),
            turnout("t-p3-12", "r2", "p3", "12:00", 380),
        ],
        [
            right,  # the correction overtakes revision 1
            p3,
            turnout("t-p1-12", "r1", "p1", "12:00", 420),  # duplicate
            turnout("t-p1-20", "r1", "p1", "20:00", 760),
        ],
        [
            wrong,  # stale: must not displace revision 2
            p3,  # duplicate
            result_report("p2-r1", "r1", "p2", 500, {"c1": 100, "c2": 200}, 10, 5),
        ],
    ]


async def post_all(ingest: str, definition: dict[str, Any], batches: list[list[Any]]) -> None:
    async with httpx.AsyncClient(base_url=ingest, timeout=60) as http:
        put = await http.put(f"/v1/elections/{definition['election_id']}", json=definition)
        assert put.status_code == 200, put.text
        for batch in batches:
            posted = await http.post("/v1/reports", json=batch)
            assert posted.status_code in (200, 207), posted.text


async def test_small_night_with_faults_equals_the_pure_fold(
    ingest_and_aggregate: Deployment,
) -> None:
    """Race, region, national, turnout and race-list documents equal ElectionTally's fold."""
    env, procs = ingest_and_aggregate
    settings = settings_for(env)
    definition = tiny_definition()
    await post_all(f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}", definition, small_night())

    accepted = await read_reports(settings)
    assert len(accepted) == 10  # ingest answers repeated report_ids without publishing them
    # What ingest cannot filter: a producer retry or a crash between Kafka's ack and the
    # idempotency record puts a report on the topic twice. Re-send some, stale one included.
    await produce_reports(settings, [accepted[0], accepted[5], accepted[7], accepted[9]])

    reports = await read_reports(settings)
    tally = tally_of(decode_definition(definition), reports)
    assert tally.counters["duplicate"] >= 4 and tally.counters["stale"] >= 1
    expected = expected_outputs(tally, opening=True)
    assert set(expected) == set(all_channels(tally.definition))
    found = await wait_for_outputs(settings, expected, 60, "the small night's views")

    # Independent of the aggregate's document builders: the core's own views.
    assert found[summary_channel("tiny-2026")][1] == dumps(tally.national_view())
    for region in ("north", "west"):
        assert found[region_channel("tiny-2026", region)][1] == dumps(tally.region_view(region))
    r1 = loads(found["race:tiny-2026:r1"][1])
    assert [(c["candidate_id"], c["votes"]) for c in r1["candidates"]] == [
        ("c1", 500),
        ("c2", 500),
    ]
    assert r1["status"] == "complete" and r1["precincts_reporting"] == 2
    turnout_north = loads(found["turnout:tiny-2026:north"][1])
    assert [m["ballots_cast"] for m in turnout_north["turnout_by_mark"]] == [240, 420, 760]

    web = f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}"
    async with httpx.AsyncClient(base_url=web, timeout=10) as http:
        health = await http.get("/healthz")
        alive = await http.get("/livez")
        stats = (await http.get("/stats")).json()
        exposition = await http.get("/metrics")
    assert (health.status_code, health.json()["status"], health.json()["alarms"]) == (200, "ok", {})
    assert alive.status_code == 200 and health.json()["pending"] == 0
    assert exposition.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.text)
        for s in family.samples
    }
    p = "votewire_aggregate_"
    folded = sum(v for (name, _), v in found.items() if name == p + "reports_folded_total")
    assert folded == len(reports)
    assert found[(p + "batch_fold_seconds_count", (("stage", "fold-reports"),))] >= 1
    assert found[(p + "redis_write_seconds_count", ())] >= 1
    lag = [v for (name, _), v in found.items() if name == p + "consumer_lag"]
    assert len(lag) == 3 * settings.report_partitions and sum(lag) == 0
    assert stats["counters"]["reports_folded"] == len(reports)
    # A worker that re-folded its partitions at assignment sees the records after the
    # committed offset again, as duplicates: at least the night's own duplicates.
    assert stats["counters"]["reports_duplicate"] >= tally.counters["duplicate"]
    assert stats["counters"]["views_written"] >= len(expected)
    assert {"consumer_lag", "redis_write_latency", "reports_per_s"} <= stats.keys()
    assert procs["aggregate"].alive()


async def test_kz2021_night_with_faults_equals_the_published_tables(
    ingest_and_aggregate: Deployment,
) -> None:
    """The whole kz-2021 night, faults included, through ingest: regions.csv to the voter."""
    env, _ = ingest_and_aggregate
    settings = settings_for(env)
    definition = kz2021_definition()
    night = simulate_night(definition, seed=2021, faults=FaultRates.uniform(0.03))
    payloads = [e.wire() for e in night]
    batches = [payloads[i : i + 1000] for i in range(0, len(payloads), 1000)]
    await post_all(
        f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}", encode_definition(definition), batches
    )

    reports = await read_reports(settings)
    distinct = {e.payload.report_id for e in night if not isinstance(e.payload, dict)}
    assert len(reports) == len(distinct)  # repeats are answered by ingest, not re-published
    tally = tally_of(definition, reports)
    expected = expected_outputs(tally, opening=True)
    found = await wait_for_outputs(settings, expected, 240, "the kz-2021 night's views")
    assert found[summary_channel(definition.election_id)][1] == dumps(tally.national_view())

    national = loads(found[summary_channel(definition.election_id)][1])
    reference = load_reference()
    assert national["registered"] == reference.registered
    assert national["ballots_cast"] == reference.ballots_cast
    assert national["races_complete"] == len(definition.races)
    for row in reference.regions:
        region = loads(found[region_channel(definition.election_id, row.region_id)][1])
        assert (region["registered"], region["ballots_cast"]) == (row.registered, row.ballots_cast)
        seats = {s["party"]: s["seats"] for s in region["seats_by_party"]}
        assert seats == {p: n for p, n in row.akims_by_party.items() if n}, row.region_id
    e = definition.election_id
    index = loads((await redis_outputs(settings, [f"races:{e}"]))[f"races:{e}"][1])
    pages = [f"races:{e}:{g['group']}:{p}" for g in index["groups"] for p in range(g["pages"])]
    stored = await redis_outputs(settings, pages)
    lines = [line for page in pages for line in loads(stored[page][1])["races"]]
    assert sorted(line["race_id"] for line in lines) == sorted(r.race_id for r in definition.races)
    assert {line["status"] for line in lines} == {"complete"}
    assert max(len(loads(stored[page][1])["races"]) for page in pages) <= index["page_size"]
