"""Fault drills on the whole pipeline: break a part mid-night, prove nothing is lost.

Each drill runs the kz-2021 night (2 % faults) through ingest at a steady rate
with websocket clients on the national summary, on a stack of its own (see
harness.py), applies one fault while the night flows, and ends with:
- every report ingest acknowledged is on the reports topic (lost = 0);
- the Redis race, region and national views equal the pure engine's fold of
  the acknowledged reports (so nothing is missing or counted twice);
- every client's last summary equals that fold, and no client ever saw a
  sequence number go backwards.
It prints what it did, what it checked and the numbers.

    pytest tests/drills -m drill -s
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from votewire.launcher import ServiceProcess

from tests.drills.harness import (
    DrillReport,
    DrillStack,
    Feeder,
    Watcher,
    comparable,
    converge,
    expected_tally,
    kz_night,
    put_definition,
    service,
    topic_report_ids,
)
from tests.support.stack import free_port

pytestmark = [
    pytest.mark.drill,
    pytest.mark.filterwarnings(r"ignore:subprocess \d+ is still running:ResourceWarning"),
]

RATE = 400.0
CLIENTS = 100
CONVERGE_S = 120.0
OUTAGE_S = 30.0


@dataclass
class Night:
    stack: DrillStack
    procs: dict[str, ServiceProcess]
    feeder: Feeder
    watchers: list[Watcher]
    log_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return self.stack.env

    async def until_acknowledged(self, share: float) -> None:
        """Wait (deadline-bounded) until `share` of the night was acknowledged."""
        want = int(len(self.feeder.night) * share)
        deadline = time.monotonic() + 120
        while len(self.feeder.acknowledged) < want:
            assert time.monotonic() < deadline, "the night stopped flowing"
            await asyncio.sleep(0.1)  # deadline-poll


def start(name: str, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    proc = service(name, env, log_dir)
    proc.start()
    proc.wait_healthy(90)
    return proc


@pytest.fixture
def own_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DrillStack]:
    stack = DrillStack(tmp_path / "state", brokers=getattr(request, "param", 1))
    stack.up()
    try:
        yield stack
    finally:
        stack.down()


async def run_night(
    stack: DrillStack,
    log_dir: Path,
    report: DrillReport,
    fault: Callable[[Night], Awaitable[None]],
    live_processes: int = 1,
) -> Night:
    """The night with `fault` applied during it; asserts the outcome (module doc)."""
    definition, night = kz_night()
    env = stack.env
    procs = {name: start(name, env, log_dir) for name in ("ingest", "aggregate", "live")}
    live_envs = [env] + [
        {**env, "VOTEWIRE_LIVE_PORT": str(free_port())} for _ in range(live_processes - 1)
    ]
    for i, live_env in enumerate(live_envs[1:], start=2):
        procs[f"live{i}"] = start("live", live_env, log_dir)
    ingest = f"http://127.0.0.1:{env['VOTEWIRE_INGEST_PORT']}"
    urls = [f"ws://127.0.0.1:{e['VOTEWIRE_LIVE_PORT']}/v1/live" for e in live_envs]
    try:
        await put_definition(ingest, definition)
        feeder = Feeder(f"{ingest}/v1/reports", night, RATE)
        channel = f"summary:{definition.election_id}"
        watchers = [
            Watcher(urls[i % len(urls) :] + urls[: i % len(urls)], channel) for i in range(CLIENTS)
        ]
        run = Night(stack, procs, feeder, watchers, log_dir)
        stop = asyncio.Event()
        watching = [asyncio.create_task(w.run(stop)) for w in watchers]
        await asyncio.gather(feeder.run(), fault(run))
        fed = time.monotonic()
        tally = expected_tally(definition, feeder.acknowledged)
        settling = await converge(stack.settings, definition, tally, CONVERGE_S)
        on_topic = set(await topic_report_ids(stack.settings))
        national = comparable(tally.national_view())
        deadline = time.monotonic() + 30
        while any(w.view is None or comparable(w.view) != national for w in watchers):
            assert time.monotonic() < deadline, "clients did not catch up with the final view"
            await asyncio.sleep(0.1)  # deadline-poll
        stop.set()
        await asyncio.gather(*watching)
    finally:
        for proc in procs.values():
            proc.stop()
    lost = [rid for rid in feeder.acknowledged if rid not in on_topic]
    report.acknowledged = len(feeder.acknowledged)
    report.counted = len(feeder.acknowledged) - len(lost)
    report.lost = len(lost)
    report.doubled = 0  # views equal the fold: any double count would have differed
    report.recovery_s = report.recovery_s or settling
    latencies = sorted(feeder.latencies)
    report.extra |= {
        "checked": "topic holds every acknowledged report; all race/region/national views "
        "equal the fold; every client ends on the fold's national view",
        "ingest statuses": dict(sorted(feeder.statuses.items())),
        "ingest p50/p99 ms": (
            round(latencies[len(latencies) // 2] * 1000, 1),
            round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        ),
        "views settled after feeding (s)": round(settling, 1),
        "client reconnects / resyncs": (
            sum(w.reconnects for w in watchers),
            sum(w.resyncs for w in watchers),
        ),
        "why clients reconnected": dict(Counter(w.last_error for w in watchers if w.last_error)),
        "reports folded (applied/duplicate/stale/conflict)": tally.counters,
        "wall (s)": round(time.monotonic() - fed + len(night) / RATE, 1),
    }
    report.print()
    assert not lost, f"acknowledged but not on the topic: {lost[:5]}"
    assert all(w.backwards == 0 for w in watchers), "a client saw a sequence go backwards"
    return run


async def test_kill_aggregate_worker_mid_night(own_stack: DrillStack, tmp_path: Path) -> None:
    """kill -9 the aggregate worker at 40 %, restart it: views equal the fold."""
    report = DrillReport("aggregate kill -9", "killed the only worker at 40 %, restarted it")

    async def fault(night: Night) -> None:
        await night.until_acknowledged(0.4)
        night.procs["aggregate"].kill()
        killed = time.monotonic()
        night.procs["aggregate"] = start("aggregate", night.env, night.log_dir)
        report.extra["worker back after (s)"] = round(time.monotonic() - killed, 1)

    await run_night(own_stack, tmp_path / "logs", report, fault)


async def test_kill_a_live_process_clients_resume_on_another(
    own_stack: DrillStack, tmp_path: Path
) -> None:
    """kill -9 one of two live processes: its clients reconnect to the other and resume."""
    report = DrillReport("live kill -9", "two live processes; killed the first at 40 %")

    async def fault(night: Night) -> None:
        await night.until_acknowledged(0.4)
        night.procs["live"].kill()

    await run_night(own_stack, tmp_path / "logs", report, fault, live_processes=2)


async def test_redis_restart_then_wipe_and_rebuild(own_stack: DrillStack, tmp_path: Path) -> None:
    """Restart Redis (AOF keeps views), later wipe it and rebuild: views and clients recover."""
    report = DrillReport(
        "redis restart + wipe", "restarted Redis at 30 %, FLUSHALL at 60 % then `votewire rebuild`"
    )

    async def fault(night: Night) -> None:
        await night.until_acknowledged(0.3)
        night.stack.redis.down()
        night.stack.redis.up()
        await night.until_acknowledged(0.6)
        client = aioredis.Redis.from_url(night.stack.settings.redis_url)
        await client.flushall()
        await client.aclose()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "votewire.cli", "rebuild", env={**os.environ, **night.env}
        )
        assert await proc.wait() == 0, "votewire rebuild failed"

    await run_night(own_stack, tmp_path / "logs", report, fault)


@pytest.mark.parametrize("own_stack", [3], indirect=True)
async def test_three_brokers_kill_the_partition_leader(
    own_stack: DrillStack, tmp_path: Path
) -> None:
    """Three brokers (RF 3, min ISR 2): kill -9 the leader's broker at 40 %."""
    report = DrillReport(
        "broker leader kill -9",
        "3 brokers; killed node 1 at 40 %, restarted "
        "it at 70 %. (Kafka transactions are not used: the fold is idempotent "
        "under at-least-once, so there is no transaction to kill.)",
    )

    async def fault(night: Night) -> None:
        await night.until_acknowledged(0.4)
        proc = night.stack.kafka.proc(1)
        pid = proc.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await night.until_acknowledged(0.7)
        await asyncio.to_thread(night.stack.kafka.up)

    await run_night(own_stack, tmp_path / "logs", report, fault)


async def test_kafka_down_for_30_seconds(own_stack: DrillStack, tmp_path: Path) -> None:
    """Stop Kafka for 30 s at 40 %: ingest refuses with 503, everything catches up."""
    report = DrillReport("kafka down 30 s", "stopped the broker for 30 s at 40 %")

    async def fault(night: Night) -> None:
        await night.until_acknowledged(0.4)
        await asyncio.to_thread(night.stack.kafka.down)
        await asyncio.sleep(OUTAGE_S)  # the fault itself: Kafka stays down this long
        await asyncio.to_thread(night.stack.kafka.up)
        report.extra["503 answers during the outage"] = night.feeder.statuses.get(503, 0)

    await run_night(own_stack, tmp_path / "logs", report, fault)
    assert report.extra["503 answers during the outage"] > 0
