"""The aggregate split in two processes (VOTEWIRE_AGGREGATE_ROLE races + rollups).

A races process (stage 1, on a plain consumer: races_worker.py) and a
rollups process (stages 2 and 3, the dead-letter follower) side by side
must publish exactly what one `all` worker does: the pure fold of the
night, version for version, also after the races process is killed with
SIGKILL mid-night and restarted, and while a second races process joins
and takes partitions over. A clean stop (SIGTERM) commits everything folded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient
from votewire.config import Settings
from votewire.core.scenario import FaultRates, simulate_night
from votewire.core.scenario.national import national_definition
from votewire.infra.heartbeat import Beat, Freshness, RedisHeartbeats
from votewire.infra.topic_log import KafkaLog
from votewire.launcher import ServiceProcess

from tests.support.aggregate_night import (
    counter,
    expected_outputs,
    kz_night,
    produce_reports,
    publish_definition,
    read_reports,
    start_worker,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

FAULTS = FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05, late=0.02)
CONVERGE_S = 180.0


@pytest.fixture
def split(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, list[ServiceProcess]]]:
    workers: list[ServiceProcess] = []
    yield isolated_env("roles"), tmp_path / "logs", workers
    for worker in workers:
        worker.stop()


async def test_races_and_rollups_processes_fold_the_night_exactly_through_a_kill(
    split: tuple[dict[str, str], Path, list[ServiceProcess]],
) -> None:
    env, logs, workers = split
    settings = settings_for(env)
    definition, reports = kz_night(FAULTS)
    await publish_definition(settings, definition)
    races = start_worker(env, logs, workers, "races-1", VOTEWIRE_AGGREGATE_ROLE="races")
    rollups = start_worker(env, logs, workers, "rollups", VOTEWIRE_AGGREGATE_ROLE="rollups")
    cut = len(reports) * 2 // 3
    await produce_reports(settings, reports[:cut])

    async def busy() -> bool:
        return await counter(races, "reports_folded") > cut // 4

    await eventually(busy, 120, "stage 1 to be folding")
    races.kill()  # SIGKILL mid-night: no flush, no commit
    await produce_reports(settings, reports[cut:])
    restarted = start_worker(env, logs, workers, "races-2", VOTEWIRE_AGGREGATE_ROLE="races")

    expected = expected_outputs(tally_of(definition, await read_reports(settings)))
    await wait_for_outputs(settings, expected, CONVERGE_S, "the split aggregate's views")
    assert restarted.alive() and rollups.alive()
    # Each role ran only its stages.
    assert await counter(restarted, "region_views_published") == 0
    assert await counter(rollups, "reports_folded") == 0
    assert await counter(rollups, "region_views_published") > 0
    await heartbeats_cover_every_partition(settings)


async def heartbeats_cover_every_partition(settings: Settings) -> None:
    """The live service's verdict on the two roles' beats: live, two workers, which
    together own every input partition of the three stages (each role counts all)."""
    await verdict(settings, "live", 2, 60)
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        store = RedisHeartbeats(client, settings.redis_prefix)
        beats = [Beat.decode(raw) for raw in (await store.read()).values()]
        assert {b.of for b in beats} == {3 * settings.report_partitions}
    finally:
        await client.aclose()


async def test_a_second_races_process_takes_partitions_over_and_a_clean_stop_commits_all(
    split: tuple[dict[str, str], Path, list[ServiceProcess]],
) -> None:
    env, logs, workers = split
    settings = settings_for(env)
    definition, reports = kz_night(FAULTS)
    await publish_definition(settings, definition)
    first = start_worker(env, logs, workers, "races-1", VOTEWIRE_AGGREGATE_ROLE="races")
    start_worker(env, logs, workers, "rollups", VOTEWIRE_AGGREGATE_ROLE="rollups")
    half = len(reports) // 2
    await produce_reports(settings, reports[:half])

    async def busy() -> bool:
        return await counter(first, "reports_folded") > half // 4

    await eventually(busy, 120, "stage 1 to be folding")
    # Joins mid-night: the first revokes (commits, drops its states), both re-fold.
    second = start_worker(env, logs, workers, "races-2", VOTEWIRE_AGGREGATE_ROLE="races")
    await produce_reports(settings, reports[half:])

    expected = expected_outputs(tally_of(definition, await read_reports(settings)))
    await wait_for_outputs(settings, expected, CONVERGE_S, "the views of two races processes")
    assert await counter(first, "recoveries") >= 2  # its first assignment, then the split
    assert await counter(second, "reports_folded") > 0

    for worker in (first, second):
        worker.stop()  # SIGTERM
        assert worker.process is not None and worker.process.returncode == 0
    assert await committed_offsets(settings) == await log_ends(settings)


async def committed_offsets(settings: Settings) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(settings.aggregate_app_id)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in found.items()}


async def log_ends(settings: Settings) -> dict[int, int]:
    async with KafkaLog(settings.kafka_bootstrap) as log_:
        return {p: end for p, (_, end) in (await log_.bounds(settings.reports_topic)).items()}


async def test_a_re_fold_longer_than_the_session_timeout_is_done_once(
    split: tuple[dict[str, str], Path, list[ServiceProcess]],
) -> None:
    """A takeover of ~230,000 reports re-folds for longer than the 6 s session timeout.
    aiokafka heartbeats only once the assignment callback returns: the worker re-folds
    outside it (partitions paused), so it is not expelled and folds the log once."""
    env, logs, workers = split
    env = {**env, "VOTEWIRE_AGGREGATE_SESSION_TIMEOUT_S": "6"}
    settings = settings_for(env)
    definition = national_definition(30_000, 14, seed=7)
    reports = [e.payload for e in simulate_night(definition, seed=7)]
    await publish_definition(settings, definition)
    await produce_reports(settings, reports, chunk=5000)
    races = start_worker(env, logs, workers, "races", VOTEWIRE_AGGREGATE_ROLE="races")

    expected = expected_outputs(tally_of(definition, reports))
    race_views = {c: v for c, v in expected.items() if c.startswith("race:")}
    await wait_for_outputs(settings, race_views, CONVERGE_S, "the race views after the re-fold")
    assert await counter(races, "recoveries") == 1
    log = (logs / "races.log").read_text()
    assert "UnknownMemberId" not in log and log.count("re-folded partitions") == 1


SESSION_S = "30"
"""Long, so that handing over by the session timeout could not pass the test."""


@pytest.mark.parametrize("role", ["races", "rollups"])
async def test_a_clean_stop_of_a_static_member_hands_its_partitions_over_at_once(
    split: tuple[dict[str, str], Path, list[ServiceProcess]], role: str
) -> None:
    """Two static members of `role` (as Kubernetes runs them: instance id = pod name) and
    one of the other role. SIGTERM one (a scale-in, a rolling update): it leaves its group,
    so readers see the pipeline live again with two workers within seconds; static
    membership alone kept its partitions unowned for the whole session timeout."""
    env, logs, workers = split
    env = {**env, "VOTEWIRE_AGGREGATE_SESSION_TIMEOUT_S": SESSION_S}
    settings = settings_for(env)
    definition, _ = kz_night(FAULTS)
    await publish_definition(settings, definition)
    other = "rollups" if role == "races" else "races"
    app_id = env["VOTEWIRE_AGGREGATE_APP_ID"]
    static = {"VOTEWIRE_AGGREGATE_INSTANCE_ID": f"{app_id}-{other}"}
    start_worker(env, logs, workers, other, VOTEWIRE_AGGREGATE_ROLE=other, **static)
    pair = []
    for n in (1, 2):
        static = {"VOTEWIRE_AGGREGATE_INSTANCE_ID": f"{app_id}-{role}-{n}"}
        pair.append(
            start_worker(env, logs, workers, f"{role}-{n}", VOTEWIRE_AGGREGATE_ROLE=role, **static)
        )
    await verdict(settings, "live", 3, 90)
    pair[1].stop()  # SIGTERM
    assert pair[1].process is not None and pair[1].process.returncode == 0
    await verdict(settings, "live", 2, int(SESSION_S) / 3)
    assert "left group" in (logs / f"{role}-2.log").read_text()


async def verdict(settings: Settings, state: str, workers: int, deadline_s: float) -> None:
    """Wait for the live service's verdict on the heartbeats to be `state` over `workers`."""
    client = aioredis.Redis.from_url(settings.redis_url)
    freshness = Freshness(settings.stale_after_ms / 1000)
    try:
        store = RedisHeartbeats(client, settings.redis_prefix)

        async def seen() -> object:
            found = freshness.observe(await store.read())
            return found if found.state == state and found.workers == workers else None

        await eventually(seen, deadline_s, f"a {state} verdict over {workers} workers")
    finally:
        await client.aclose()
