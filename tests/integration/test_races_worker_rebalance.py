"""The races worker (races_worker.py) through a rebalance, in process, on the real stack.

An idle races worker sits in `getmany`. When a member joins its group, the
worker revokes, is assigned its partitions again, re-folds them and resumes
them, and the `getmany` that was waiting all along returns the first records
produced after that. Those records belong to the new assignment and must be
folded: the consumer's position is already past them, so a worker that took
them for a stale fetch (the generation read before the call) lost them until
the next rebalance (seen in CI: a race view one report short for good).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from votewire.aggregate.health import Phase
from votewire.aggregate.races_worker import RacesWorker
from votewire.config import Settings
from votewire.core.models import ElectionDefinition, Report
from votewire.core.scenario import FaultRates

from tests.support.aggregate_night import (
    expected_outputs,
    kz_night,
    produce_reports,
    publish_definition,
    redis_outputs,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.integration

POLL_MS = 20_000
"""The worker's `getmany` wait, long enough to span the whole rebalance."""


@pytest.fixture
def settings() -> Settings:
    return settings_for(isolated_env("races-rebalance"))


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[RacesWorker]:
    races = RacesWorker(settings)
    races.poll_ms = POLL_MS
    stop = asyncio.Event()
    task = asyncio.create_task(races.run(stop))
    yield races
    stop.set()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(task, 30)


def running(worker: RacesWorker, recoveries: int) -> bool:
    return (
        worker.phase() is Phase.RUNNING
        and worker.metrics.counters["recoveries"] >= recoveries
        and worker.owned() > 0
    )


async def test_records_a_fetch_returns_after_a_rebalance_are_folded(
    settings: Settings, worker: RacesWorker
) -> None:
    definition, reports = kz_night(FaultRates())
    first = [r for r in reports if r.race_id == reports[0].race_id]
    later = [r for r in reports if r.race_id != reports[0].race_id][:30]
    await publish_definition(settings, definition)

    async def started() -> bool:
        return running(worker, 1)

    await eventually(started, 60, "the worker's first assignment")
    await produce_reports(settings, first)
    await wait_for_outputs(settings, race_views(definition, first), 30, "the first race's view")

    # A member joins the group (subscribed elsewhere: the worker keeps every
    # partition): the worker revokes, re-folds and resumes while its getmany waits.
    member = AIOKafkaConsumer(
        settings.definitions_topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.aggregate_app_id,
    )
    await member.start()
    try:

        async def rebalanced() -> bool:
            return running(worker, 2)

        await eventually(rebalanced, 60, "the worker's second assignment")
        assert worker.consumer.assignment() and len(worker.consumer.assignment()) == 3
        await produce_reports(settings, later)
        expected = race_views(definition, first + later)
        await wait_for_outputs(settings, expected, 15, "views of the reports sent after it")
    finally:
        await member.stop()
    assert worker.metrics.counters["reports_folded"] >= len(first) + len(later)
    found = await redis_outputs(settings, expected)
    assert found == expected  # nothing doubled either: the pure fold's versions and docs


def race_views(
    definition: ElectionDefinition, reports: list[Report]
) -> dict[str, tuple[int, bytes]]:
    expected = expected_outputs(tally_of(definition, reports))
    return {c: v for c, v in expected.items() if c.startswith("race:")}
