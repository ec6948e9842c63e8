"""Nothing stops the pipeline: an output no broker would take, beside the kz-2021 night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from votewire.core.codec import loads
from votewire.core.scenario import FaultRates
from votewire.infra.topic_log import KafkaLog
from votewire.launcher import ServiceProcess, start_services

from tests.support.aggregate_night import (
    expected_outputs,
    kz_night,
    produce_reports,
    publish_definition,
    read_reports,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

CANDIDATES = 10_000
"""Enough for the race view to pass the 900 KiB output limit (~110 bytes a candidate)."""

Deployment = tuple[dict[str, str], dict[str, ServiceProcess]]


@pytest.fixture
def ingest_and_aggregate(tmp_path: Path) -> Iterator[Deployment]:
    env = isolated_env("oversize")
    procs = start_services(env, tmp_path / "logs", names=("ingest", "aggregate"))
    try:
        yield env, procs
    finally:
        for proc in procs.values():
            proc.stop()


def monster() -> dict[str, Any]:
    """One race of 10,000 candidates: legal, and its view is over a megabyte."""
    return {
        "election_id": "monster-2026", "name": "A ballot a metre long", "date": "2026-07-25",
        "timezone": "Asia/Almaty", "turnout_marks": ["10:00"], "share_base": "ballots_cast",
        "test": True, "regions": [{"region_id": "g", "name": "G", "timezone": None}],
        "races": [{
            "race_id": "long", "name": "Long race", "region_id": "g", "office": "council",
            "seats": 1, "against_all": False, "winner_rule": "plurality",
            "against_all_rule": "ignore",
            "candidates": [{"candidate_id": f"c{i:05d}", "name": f"Candidate {i:05d}",
                            "party": "independent"} for i in range(CANDIDATES)],
            "precincts": [{"precinct_id": "p1", "name": "Station 1", "registered": 50_000}],
        }],
    }  # fmt: skip


def monster_result() -> dict[str, Any]:
    votes = {f"c{i:05d}": i % 3 for i in range(CANDIDATES)}
    return {
        "kind": "result", "report_id": "long-p1", "election_id": "monster-2026",
        "race_id": "long", "precinct_id": "p1", "registered": 50_000,
        "ballots_cast": sum(votes.values()) + 7, "votes": votes, "against_all": 0,
        "invalid": 7, "revision": 1, "reported_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


async def test_an_oversize_view_is_dead_lettered_and_the_night_completes(
    ingest_and_aggregate: Deployment,
) -> None:
    """A race view over the output limit is dead-lettered (stage aggregate,
    output_too_large), counted and alarmed on /healthz, /stats and /metrics; the worker never
    dies, and the kz-2021 night folded beside it on the same worker is exact."""
    env, procs = ingest_and_aggregate
    settings = settings_for(env)
    ingest = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    async with httpx.AsyncClient(base_url=ingest, timeout=60) as http:
        put = await http.put("/v1/elections/monster-2026", json=monster())
        assert put.status_code == 200, put.text[:500]
        posted = await http.post("/v1/reports", json=monster_result())
        assert posted.status_code == 200, posted.text[:500]

    definition, reports = kz_night(FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05))
    await publish_definition(settings, definition)
    await produce_reports(settings, reports)
    kz = [r for r in await read_reports(settings) if r.election_id == definition.election_id]
    expected = expected_outputs(tally_of(definition, kz))
    await wait_for_outputs(settings, expected, 240, "the kz-2021 night beside the oversize view")

    async def letter() -> dict[str, Any] | None:
        async with KafkaLog(settings.kafka_bootstrap) as log:
            for record in await log.read_all(settings.dead_letter_topic):
                found = loads(record.value or b"")
                if found.get("reason") == "output_too_large":
                    return dict(found)
        return None

    found = await eventually(letter, 60, "the oversize view's dead letter")
    assert found["stage"] == "aggregate" and found["schema"] == 1
    assert found["key"] == "monster-2026/g" and found["election_id"] is None
    web = f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}"
    async with httpx.AsyncClient(base_url=web, timeout=10) as http:
        health = await http.get("/healthz")
        stats = (await http.get("/stats")).json()
        exposition = (await http.get("/metrics")).text
    assert health.status_code == 200 and health.json()["alarms"]["outputs_too_large"] >= 1
    assert stats["alarms"]["dead_letters_output_too_large"] >= 1
    assert "votewire_aggregate_outputs_too_large_total 1.0" in exposition
    assert procs["aggregate"].alive()  # never crashed: a launcher child is not restarted
