"""Drill: the Kafka broker restarts while ingest is under load.

The drill provisions its OWN single KRaft broker (deploy/stack.py's
KafkaCluster, separate state dir and ports), so the shared broker other tests
use is never touched. Concurrent clients post single reports the whole time;
the broker is stopped (SIGTERM) or killed (SIGKILL), left down for a while,
and started again. It pins:

- every answer is 200 (accepted) or 503 with Retry-After: no 500, no hang;
- ingest recovers by itself: reports are accepted again after the restart;
- everything ever acknowledged as accepted is on the reports topic.

Run: pytest tests/drills -m drill (needs Java and the cached Kafka jars).
"""

from __future__ import annotations

import asyncio
import os
import runpy
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from votewire.config import REPO_ROOT

from tests.integration.test_ingest_harness import (
    IngestServer,
    decoded,
    read_to_end,
    running_ingest,
)
from tests.support.definitions import tiny_definition
from tests.support.polling import eventually
from tests.support.stack import free_port, isolated_env, settings_for

pytestmark = [
    pytest.mark.drill,
    # deploy/stack.py starts the broker detached and lets go of its Popen on purpose.
    pytest.mark.filterwarnings(r"ignore:subprocess \d+ is still running:ResourceWarning"),
]

WORKERS = 8
DOWN_FOR_S = 4.0
PLACES = [("r1", "p1"), ("r1", "p2"), ("r2", "p3")]


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[dict[str, str], Any]]:
    """A one-broker cluster of the drill's own; its env; stopped afterwards."""
    env = {
        **isolated_env("drill"),
        "VOTEWIRE_STATE_DIR": str(tmp_path / "state"),
        "VOTEWIRE_KAFKA_BOOTSTRAP": "",
        "VOTEWIRE_KAFKA_PORT": str(free_port()),
        "VOTEWIRE_KAFKA_CONTROLLER_PORT": str(free_port()),
        "VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS": "2000",
        "VOTEWIRE_INGEST_RATE": "0",
    }
    stack = runpy.run_path(str(REPO_ROOT / "deploy" / "stack.py"), run_name="votewire_drill")
    cluster = stack["KafkaCluster"](settings_for(env), 1)
    cluster.up()
    try:
        yield env, cluster
    finally:
        cluster.down()


@dataclass
class Load:
    """Clients posting one report per request until told to stop."""

    url: str
    acked: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    oddities: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def worker(self, n: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            seq = 0
            while not self.stop.is_set():
                seq += 1
                race, precinct = PLACES[seq % len(PLACES)]
                report = {
                    "kind": "turnout",
                    "report_id": f"w{n}-{seq}",
                    "election_id": "tiny-2026",
                    "race_id": race,
                    "precinct_id": precinct,
                    "mark": "10:00",
                    "ballots_cast": seq % 400,
                    "revision": seq,
                    "reported_at": "2026-07-25T10:05:00+06:00",
                }
                try:
                    answer = await http.post("/v1/reports", json=report)
                except httpx.HTTPError as exc:
                    self.oddities.append(f"{type(exc).__name__}: {exc}")
                    continue
                self.statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    self.acked.add(report["report_id"])
                elif answer.status_code == 503:
                    if "retry-after" not in answer.headers:
                        self.oddities.append("503 without Retry-After")
                    await asyncio.sleep(0.05)  # a polite client backs off a little
                else:
                    self.oddities.append(f"{answer.status_code}: {answer.text[:200]}")


def stop_broker(cluster: Any, how: str) -> None:
    """SIGTERM (a controlled shutdown) or SIGKILL (a crash) of the drill's broker."""
    proc = cluster.proc(1)
    if how == "terminate":
        proc.stop()
        return
    pid = proc.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while proc.pid() is not None:
        assert time.monotonic() < deadline, "the broker did not die"
        time.sleep(0.05)  # deadline-poll: SIGKILL cannot be ignored


@pytest.mark.parametrize("how", ["terminate", "kill"])
async def test_everything_acknowledged_survives_a_broker_restart(
    own_broker: tuple[dict[str, str], Any], how: str
) -> None:
    """Under load, stop (or kill) and restart the broker: only 200/503 answers, recovery
    without intervention, and every acknowledged report on the topic."""
    env, cluster = own_broker
    with running_ingest(env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            put = await http.put("/v1/elections/tiny-2026", json=tiny_definition())
            assert put.status_code == 200, put.text
        load = Load(server.url)
        workers = [asyncio.create_task(load.worker(n)) for n in range(WORKERS)]
        try:
            await eventually(_at_least(load, 200), 60, "200 reports accepted before the restart")
            await asyncio.to_thread(stop_broker, cluster, how)
            down_since = time.monotonic()
            await eventually(_refused(load), 60, "a 503 while the broker is down")
            await asyncio.sleep(max(0.0, DOWN_FOR_S - (time.monotonic() - down_since)))  # outage
            before_restart = len(load.acked)
            await asyncio.to_thread(cluster.up)
            await eventually(
                _at_least(load, before_restart + 200), 120, "acceptance to resume after restart"
            )
        finally:
            load.stop.set()
            await asyncio.gather(*workers)
        await _check_topic(server, load)


def _at_least(load: Load, count: int) -> Any:
    async def probe() -> bool:
        return len(load.acked) >= count

    return probe


def _refused(load: Load) -> Any:
    async def probe() -> bool:
        return load.statuses[503] > 0

    return probe


async def _check_topic(server: IngestServer, load: Load) -> None:
    assert set(load.statuses) <= {200, 503}, load.statuses
    assert not load.oddities, load.oddities[:10]
    records = decoded(
        await read_to_end(server.settings.kafka_bootstrap, server.settings.reports_topic, 120)
    )
    on_topic = Counter(value["report_id"] for _, value in records)
    missing = load.acked - set(on_topic)
    assert not missing, f"{len(missing)} acknowledged reports are not on the topic"
    duplicates = sum(n - 1 for n in on_topic.values())
    print(
        f"\ndrill: {len(load.acked)} acknowledged, all on the topic; "
        f"statuses {dict(load.statuses)}; "
        f"{duplicates} duplicate record(s) on the topic (harmless, see docs/ingest.md)"
    )
