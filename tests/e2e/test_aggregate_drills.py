"""Crash and loss drills on the kz-2021 night: the views always converge to the pure fold.

Reports are produced straight to Kafka, keyed like ingest, with duplicates,
corrections, late and reordered deliveries. "Identical" means every Redis
document (race, region, national, turnout, race list) equals, byte for byte
and version for version, the pure engine's fold of the reports topic: a lost
report or a double-counted one would show in the totals or the versions.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from votewire.aggregate import rebuild
from votewire.aggregate.channels import summary_channel
from votewire.cli import main
from votewire.config import Settings
from votewire.core.models import ElectionDefinition, Report, ResultReport
from votewire.core.scenario import FaultRates
from votewire.launcher import ServiceProcess

from tests.support.aggregate_night import (
    Outputs,
    counter,
    delete_redis_prefix,
    expected_outputs,
    kz_night,
    produce_reports,
    publish_definition,
    read_json,
    read_reports,
    redis_outputs,
    start_worker,
    stats_url,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

FAULTS = FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05, late=0.02)
CONVERGE_S = 180.0


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, list[ServiceProcess]]]:
    """An isolated namespace, a log directory, and the workers a test starts (killed after)."""
    workers: list[ServiceProcess] = []
    yield isolated_env("drill"), tmp_path / "logs", workers
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def night() -> tuple[ElectionDefinition, list[Report]]:
    return kz_night(FAULTS)


async def folded(worker: ServiceProcess) -> int:
    return await counter(worker, "reports_folded")


async def expected_now(settings: Settings, definition: ElectionDefinition) -> Outputs:
    return expected_outputs(tally_of(definition, await read_reports(settings)))


async def test_worker_killed_mid_night_restarts_to_identical_views(
    drill: tuple[dict[str, str], Path, list[ServiceProcess]],
    night: tuple[ElectionDefinition, list[Report]],
) -> None:
    """kill -9 while folding, more reports while down, restart: nothing lost or doubled."""
    env, logs, workers = drill
    settings = settings_for(env)
    definition, reports = night
    await publish_definition(settings, definition)
    first = start_worker(env, logs, workers, "first")
    cut = len(reports) * 2 // 3
    await produce_reports(settings, reports[:cut])

    async def busy() -> bool:
        return await folded(first) > cut // 4

    await eventually(busy, 120, "the worker to be folding")
    first.kill()  # SIGKILL: no flush, no commit, no goodbye
    await produce_reports(settings, reports[cut:])

    second = start_worker(env, logs, workers, "second")
    expected = await expected_now(settings, definition)
    await wait_for_outputs(settings, expected, CONVERGE_S, "views after the restart")
    stats = await read_json(stats_url(second))
    assert stats["counters"]["recoveries"] >= 3  # one per stage table
    assert second.alive()


async def test_restart_rewrites_views_lost_between_commit_and_flush(
    drill: tuple[dict[str, str], Path, list[ServiceProcess]],
    night: tuple[ElectionDefinition, list[Report]],
) -> None:
    """Redis writes are coalesced outside faust's commit path; a crash can lose some whose
    offsets were committed. The next assignment re-offers every owned view: they come back."""
    env, logs, workers = drill
    settings = settings_for(env)
    definition, reports = night
    await publish_definition(settings, definition)
    first = start_worker(env, logs, workers, "first")
    await produce_reports(settings, reports[: len(reports) // 3])
    expected = await expected_now(settings, definition)
    await wait_for_outputs(settings, expected, CONVERGE_S, "views before the loss")

    first.kill()
    lost = await delete_redis_prefix(settings)  # committed, never written: the worst case
    assert lost > len(expected)
    start_worker(env, logs, workers, "second")
    await wait_for_outputs(settings, expected, CONVERGE_S, "views re-offered after recovery")


async def test_two_workers_one_killed_the_other_takes_over(
    drill: tuple[dict[str, str], Path, list[ServiceProcess]],
    night: tuple[ElectionDefinition, list[Report]],
) -> None:
    """Two workers share the partitions; kill -9 one: the survivor finishes the night alone."""
    env, logs, workers = drill
    settings = settings_for(env)
    definition, reports = night
    await publish_definition(settings, definition)
    doomed = start_worker(env, logs, workers, "doomed")
    survivor = start_worker(env, logs, workers, "survivor")
    half = len(reports) // 2
    await produce_reports(settings, reports[:half])

    async def both_folding() -> bool:
        return await folded(doomed) > 0 and await folded(survivor) > 0

    await eventually(both_folding, 120, "both workers to own partitions")
    doomed.kill()
    await produce_reports(settings, reports[half:])

    expected = await expected_now(settings, definition)
    await wait_for_outputs(settings, expected, CONVERGE_S, "views after the takeover")
    stats = await read_json(stats_url(survivor))
    reports_lag = {k: v for k, v in stats["consumer_lag"].items() if ".reports:" in k}
    assert len(reports_lag) == settings.report_partitions  # it owns every partition now
    assert survivor.alive()


async def test_redis_wiped_mid_night_rebuild_restores_identical_views(
    drill: tuple[dict[str, str], Path, list[ServiceProcess]],
    night: tuple[ElectionDefinition, list[Report]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flush the Redis prefix under a running pipeline; `votewire rebuild` brings every view
    back, identical, under a new epoch; the night then finishes normally."""
    env, logs, workers = drill
    settings = settings_for(env)
    definition, reports = night
    await publish_definition(settings, definition)
    start_worker(env, logs, workers, "worker")
    half = len(reports) // 2
    first = next(r for r in reports if isinstance(r, ResultReport))  # sent again later
    await produce_reports(settings, [*reports[:half], first, rival_of(first)])
    expected = await expected_now(settings, definition)
    before = await wait_for_outputs(settings, expected, CONVERGE_S, "views before the wipe")
    epoch_before = await epoch_of(settings, definition)
    flagged = await eventually(lambda: anomaly_ids(settings, definition), CONVERGE_S,
                               "the rival protocol's anomaly")  # fmt: skip

    assert await delete_redis_prefix(settings) > len(expected)
    assert await redis_outputs(settings, expected) == {}

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["rebuild"]) == 0  # the command runs its own loop
    assert await redis_outputs(settings, expected) == before
    assert await epoch_of(settings, definition) != epoch_before
    again = await rebuild.rebuild_views(settings)
    assert (again.written, again.anomalies) == (0, 0)  # idempotent
    assert flagged and flagged <= await anomaly_ids(settings, definition)  # the feed is back

    await produce_reports(settings, reports[half:])
    expected = await expected_now(settings, definition)
    await wait_for_outputs(settings, expected, CONVERGE_S, "views after the rebuild")


def rival_of(first: ResultReport) -> ResultReport:
    """Another protocol under the revision of `first`: a `revision_conflict`."""
    a = next(iter(first.votes))
    return dataclasses.replace(first, report_id=first.report_id + "-rival",
                               votes={**first.votes, a: first.votes[a] + 1},
                               ballots_cast=first.ballots_cast + 1)  # fmt: skip


async def anomaly_ids(settings: Settings, definition: ElectionDefinition) -> set[str]:
    """The ids of the anomalies the election's feed holds (the newest 500)."""
    import json

    import redis.asyncio as aioredis
    from votewire.infra.anomaly_feed import RedisAnomalyFeed
    from votewire.infra.redis_views import RedisViews

    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        feed = RedisAnomalyFeed(RedisViews(client, settings.redis_prefix))
        page = await feed.page(definition.election_id, limit=500)
    finally:
        await client.aclose()
    return {json.loads(doc)["anomaly_id"] for doc in page.items}


async def epoch_of(settings: Settings, definition: ElectionDefinition) -> str:
    import redis.asyncio as aioredis
    from votewire.infra.redis_views import RedisViews

    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        stored = await RedisViews(client, settings.redis_prefix).get_view(
            summary_channel(definition.election_id)
        )
    finally:
        await client.aclose()
    assert stored is not None
    return stored.epoch
