"""National scale: one presidential race over 10,000 polling stations, through the pipeline.

The race's reports all share one partition (one key), so one worker folds a
race of ~70,000 reports; the views must equal the pure fold version for
version, whatever happens to that worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import httpx
import pytest
from votewire.config import Settings
from votewire.core.codec import encode_definition, loads
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report
from votewire.core.scenario import FaultRates, simulate_night
from votewire.core.scenario.national import PRESIDENT, national_definition
from votewire.core.scenario.timeline import Emitted
from votewire.infra.topic_log import KafkaLog
from votewire.launcher import ServiceProcess, start_services

from tests.support.aggregate_night import (
    expected_outputs,
    produce_reports,
    publish_definition,
    read_json,
    read_reports,
    redis_outputs,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import free_port, isolated_env, settings_for

pytestmark = pytest.mark.e2e

PRECINCTS = 10_000
FAULTS = FaultRates(duplicates=0.03, corrections=0.03, reorder=0.03, late=0.02, malformed=0.01)
CONVERGE_S = 300.0


@cache
def national_scenario() -> tuple[ElectionDefinition, list[Emitted]]:
    """The definition and its simulated night (built once: ~80,000 reports)."""
    definition = national_definition(PRECINCTS, 14, seed=2024)
    return definition, simulate_night(definition, seed=2024, faults=FAULTS)


def national_night() -> tuple[ElectionDefinition, list[object]]:
    """The night as a newsroom's sender would post it (malformed payloads included)."""
    definition, night = national_scenario()
    return definition, [e.wire() for e in night]


def valid_reports() -> tuple[ElectionDefinition, list[Report]]:
    """The night's valid reports, in delivery order (what ingest would publish)."""
    definition, night = national_scenario()
    return definition, [e.payload for e in night if not isinstance(e.payload, dict)]


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, ServiceProcess]]]:
    env = {**isolated_env("national"), "VOTEWIRE_INGEST_RATE": "0"}
    procs = start_services(env, tmp_path / "logs", names=("ingest", "aggregate"))
    try:
        yield env, procs
    finally:
        for proc in procs.values():
            proc.stop()


async def test_a_national_night_through_ingest_equals_the_pure_fold(
    deployment: tuple[dict[str, str], dict[str, ServiceProcess]],
) -> None:
    """10,000 stations with faults, sent through ingest: every race, region, national,
    turnout and race-list document equals the pure fold; nothing alarmed, no crash."""
    env, procs = deployment
    settings = settings_for(env)
    definition, payloads = national_night()
    ingest = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    async with httpx.AsyncClient(base_url=ingest, timeout=120) as http:
        put = await http.put(
            f"/v1/elections/{definition.election_id}", json=encode_definition(definition)
        )
        assert put.status_code == 200, put.text[:300]
        for start in range(0, len(payloads), 1000):
            posted = await http.post("/v1/reports", json=payloads[start : start + 1000])
            assert posted.status_code in (200, 207), posted.text[:300]

    reports = await read_reports(settings)
    assert len(reports) > 6 * PRECINCTS
    tally = tally_of(definition, reports)
    expected = expected_outputs(tally, opening=True)
    found = await wait_for_outputs(settings, expected, CONVERGE_S, "the national night's views")
    president = loads(found[f"race:{definition.election_id}:{PRESIDENT}"][1])
    assert president["precincts_reporting"] == PRECINCTS
    assert president["ballots_cast"] == tally.race_view(PRESIDENT)["ballots_cast"]
    web = f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}"
    async with httpx.AsyncClient(base_url=web, timeout=10) as http:
        health = (await http.get("/healthz")).json()
    assert health["status"] == "ok" and health["alarms"] == {}
    assert procs["aggregate"].alive()


async def test_the_worker_folding_the_national_race_is_killed_the_other_takes_over(
    tmp_path: Path,
) -> None:
    """Two workers; kill -9 the one that owns the presidential race's partition in the
    middle of the night: the survivor re-folds that partition and finishes the night
    alone, identical to the pure fold (nothing lost, nothing counted twice)."""
    env = isolated_env("national-kill")
    settings = settings_for(env)
    definition, reports = valid_reports()
    await publish_definition(settings, definition)
    workers: list[ServiceProcess] = []
    try:
        for name in ("a", "b"):
            worker = ServiceProcess(
                "aggregate",
                {**env, "VOTEWIRE_AGGREGATE_PORT": str(free_port())},
                tmp_path / f"{name}.log",
            )
            workers.append(worker)
            worker.start()
            worker.wait_healthy(90)
        half = len(reports) // 2
        await produce_reports(settings, reports[:half], chunk=5000)
        partition = await partition_of(settings, race_key(definition.election_id, PRESIDENT))

        async def owner() -> ServiceProcess | None:
            for worker in workers:
                stats = await read_json(stats_url(worker))
                lag = (stats or {}).get("consumer_lag", {})
                folded = (stats or {}).get("counters", {}).get("reports_folded", 0)
                if f"{settings.reports_topic}:{partition}" in lag and folded > 0:
                    return worker
            return None

        doomed = await eventually(owner, 120, "the president's partition to be folding")
        survivor = next(w for w in workers if w is not doomed)
        doomed.kill()
        await produce_reports(settings, reports[half:], chunk=5000)

        tally = tally_of(definition, await read_reports(settings))
        expected = expected_outputs(tally, opening=True)
        await wait_for_outputs(settings, expected, CONVERGE_S, "views after the takeover")
        stats = await read_json(stats_url(survivor))
        assert stats["counters"]["refolded_reports"] > 0
        assert survivor.alive()
        channel = f"summary:{definition.election_id}"
        assert (await redis_outputs(settings, [channel]))[channel] == expected[channel]
    finally:
        for worker in workers:
            worker.stop()


def stats_url(worker: ServiceProcess) -> str:
    return f"http://127.0.0.1:{worker.env['VOTEWIRE_AGGREGATE_PORT']}/stats"


async def partition_of(settings: Settings, key: bytes) -> int:
    """The reports partition holding `key`'s records (as the broker stored them)."""
    async with KafkaLog(settings.kafka_bootstrap) as log:
        topic = settings.reports_topic
        async for records in log.batches(topic, await log.bounds(topic)):
            for record in records:
                if record.key == key:
                    return record.partition
    raise AssertionError(f"no record with key {key!r}")
