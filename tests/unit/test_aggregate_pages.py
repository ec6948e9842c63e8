"""The aggregate's pages (web.answer), whatever server carries them, on a fake Progress."""

from __future__ import annotations

import json

from votewire.aggregate.health import Offsets, Phase
from votewire.aggregate.heartbeat import HeartbeatWriter
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.web import PAGES, WorkerHealth, answer
from votewire.infra.heartbeat import Beat, MemoryHeartbeats


class FakeProgress:
    def __init__(self) -> None:
        self.now = Phase.STARTING
        self.known: dict[str, Offsets] = {}

    def phase(self) -> Phase:
        return self.now

    def offsets(self) -> dict[str, Offsets]:
        return dict(self.known)

    def owned(self) -> int:
        return len(self.known)


def health_of(progress: FakeProgress) -> tuple[WorkerHealth, MemoryHeartbeats]:
    beats = MemoryHeartbeats()
    writer = HeartbeatWriter(beats, interval_s=1.0, worker="w1", wall=lambda: 1000.0)
    return WorkerHealth(progress, Metrics(), 9, writer), beats


def test_a_starting_worker_is_alive_but_not_ready() -> None:
    health, _ = health_of(FakeProgress())
    status, body, kind = answer(health, "/livez")
    assert (status, kind) == (200, "application/json")
    assert json.loads(body)["status"] == "starting"
    assert answer(health, "/readyz")[0] == 503
    status, body, _ = answer(health, "/healthz")
    assert status == 503
    assert json.loads(body)["alarms"] == {}


def test_a_running_worker_is_ready_and_counts_what_waits() -> None:
    progress = FakeProgress()
    progress.now = Phase.RUNNING
    progress.known = {"reports:0": Offsets(end=10, done=4)}
    health, _ = health_of(progress)
    for path in ("/livez", "/readyz", "/healthz"):
        status, body, _ = answer(health, path)
        assert status == 200
        assert json.loads(body)["pending"] == 6
    stats = json.loads(answer(health, "/stats")[1])
    assert stats["consumer_lag"] == {"reports:0": 6}
    assert stats["health"]["status"] == "ok"
    status, text, kind = answer(health, "/metrics")
    assert status == 200 and kind.startswith("text/plain") and b"votewire" in text


def test_every_page_answers() -> None:
    health, _ = health_of(FakeProgress())
    assert all(answer(health, path)[0] in (200, 503) for path in PAGES)


async def test_the_heartbeat_says_how_many_partitions_of_the_whole_deployment_it_owns() -> None:
    progress = FakeProgress()
    progress.now = Phase.RUNNING
    progress.known = {"reports:0": Offsets(3, 3), "reports:1": Offsets(0, 0)}
    health, beats = health_of(progress)
    await health.beat()
    beat = Beat.decode((await beats.read())["w1"])
    assert (beat.owned, beat.of, beat.status) == (2, 9, "ok")


def test_a_timer_that_raised_is_an_alarm_on_healthz() -> None:
    health, _ = health_of(FakeProgress())
    health.metrics.count("timer_errors")
    health.metrics.count("commit_failures")  # a rebalance under way: routine, not an alarm
    assert json.loads(answer(health, "/healthz")[1])["alarms"] == {"timer_errors": 1}
