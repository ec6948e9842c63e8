"""Benchmark of the aggregate worker on the real stack (votewire stack up).

    python bench/bench_aggregate.py [--runs R] [--rates 200,2000] [--seconds S]

1. Fold rate. The kz-2021 night (faults on: duplicates, corrections, late
   and reordered reports; ~14,000 reports) is produced to a fresh reports
   topic. Then, per run:
   - the ceiling: a plain aiokafka consumer reads the whole topic;
   - faust's ceiling: a no-op faust agent with stage 1's settings reads it
     (bench/faust_floor.py), the most any faust agent can fold here;
   - one aggregate worker starts on an empty topic and, once assigned, is
     paused (SIGSTOP) while the night is produced, then resumed, so it too
     reads a backlog through faust: "fold" is stage 1's rate (reports
     folded / time from its first fold to the acknowledgement of its last
     report, which follows the publication of its race view; from /stats); "all
     views" is the rate until Redis holds every final document of the night
     (race, region, national, turnout, race list), stages 2 and 3 included.
2. Latency at steady rates (default 200 and 2,000 reports/s): a running
   worker; reports are produced the way ingest publishes them (idempotent
   producer, acks=all) at a fixed rate; for each report that changes its
   race, the time from Kafka's acknowledgement (the moment ingest would
   answer "accepted") to the pub/sub message of a race view at or past the
   version that report produced. Views are coalesced, so one message can
   settle several reports.

Each run uses its own topics, consumer group and Redis prefix. Medians of the
runs are printed as a table. The host is shared with Kafka and Redis: on a
2-core machine all three compete for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from bench_stage1 import national_definition
from bench_stage1 import night as national_night
from cpu_meter import CpuMeter, pid_in
from votewire.config import Settings
from votewire.core.codec import report_to_bytes
from votewire.core.models import ElectionDefinition, Report
from votewire.core.race_state import RaceState
from votewire.core.scenario import FaultRates
from votewire.infra.kafka_topics import topic_partitions
from votewire.infra.redis_views import RedisViews
from votewire.launcher import ServiceProcess

from tests.support.aggregate_night import (
    expected_outputs,
    kz_night,
    produce_reports,
    publish_definition,
    read_json,
    read_reports,
    redis_outputs,
    report_key,
    tally_of,
)
from tests.support.polling import eventually
from tests.support.stack import free_port, isolated_env, settings_for

PORT = "VOTEWIRE_AGGREGATE_PORT"
FAULTS = FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05, late=0.02)


@dataclass
class FoldRun:
    ceiling: float
    faust_floor: float
    fold: float
    all_views: float


@dataclass
class LatencyRun:
    rate: int
    sent: int
    matched: int
    p50_ms: float
    p99_ms: float
    achieved_rate: float
    samples: list[float] = field(default_factory=list, repr=False)
    """Latencies in seconds, one per report that changed its race view."""
    worker: dict[str, object] = field(default_factory=dict)
    """The worker's own latency figures (/stats) at the end of the run."""
    cpu_us: dict[str, float] = field(default_factory=dict)
    """CPU µs per report sent, per process (each worker process, kafka, redis),
    from the first paced send until every race view is settled."""


def env_for(tag: str) -> dict[str, str]:
    return {**isolated_env(tag), "VOTEWIRE_LOG_LEVEL": "info"}


async def plain_consumer_rate(settings: Settings, expected: int) -> float:
    """Reports/s of an aiokafka consumer reading the whole reports topic (no processing)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition(settings.reports_topic, p)
            for p in await topic_partitions(settings.kafka_bootstrap, settings.reports_topic)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen = 0
        start = time.perf_counter()
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()


def faust_floor_rate(env: dict[str, str], topic: str, expected: int) -> float:
    """Reports/s of a no-op faust agent on `topic` (bench/faust_floor.py, its own process)."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("faust_floor.py")), topic, str(expected)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = re.search(r"^faust-no-op (\d+)$", out.stdout, re.M)
    if found is None:
        raise SystemExit(f"faust_floor.py failed ({out.returncode}): {out.stderr[-2000:]}")
    return float(found.group(1))


async def fold_run(definition: ElectionDefinition, reports: list[Report], logs: Path) -> FoldRun:
    """Ceilings on a topic filled beforehand; the worker's fold on a topic filled while it
    runs (a worker started on a full topic would re-fold it at assignment, without faust:
    that is the takeover figure, `takeover_run`)."""
    env = env_for("bench-fold")
    settings = settings_for(env)
    await publish_definition(settings, definition)
    await produce_reports(settings, reports)
    ceiling = await plain_consumer_rate(settings, len(reports))
    floor = faust_floor_rate(env, settings.reports_topic, len(reports))
    expected = expected_outputs(tally_of(definition, await read_reports(settings)))
    env = env_for("bench-live")
    settings = settings_for(env)
    await publish_definition(settings, definition)
    procs = start_workers(env, logs, 1)  # with BENCH_AGGREGATE_SPLIT=1: races + rollups
    url = f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}/stats"
    summary = f"summary:{definition.election_id}"
    final = expected[summary][0]
    try:
        await eventually(lambda: assigned(url, settings.reports_topic), 60, "assignment")
        worker = procs[0].process  # stage 1's process
        assert worker is not None
        # The worker folds a backlog through faust, as the no-op agent reads one: it is
        # paused (SIGSTOP, well within its session timeout) while the night is produced,
        # so the producer in this process neither caps nor slows the fold.
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            produce_started = time.perf_counter()
            await produce_reports(settings, reports)
            took = time.perf_counter() - produce_started
            print(f"    produced {len(reports):,} reports in {took:.2f} s (worker paused)")
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        first = last = views_at = None
        deadline = time.perf_counter() + 600
        while views_at is None:
            if time.perf_counter() > deadline:
                raise SystemExit(f"the worker did not finish the night; logs in {logs}")
            stats = await read_json(url)
            now = time.perf_counter()
            folded = stats["counters"].get("reports_folded", 0) if stats else 0
            published = stats["counters"].get("acknowledged_fold_reports", 0) if stats else 0
            if folded and first is None:
                first = now
            if published >= len(reports) and last is None:
                last = now
            if last is not None:
                stored = await redis_outputs(settings, [summary])
                if stored and stored[summary][0] == final:
                    views_at = time.perf_counter()
            await asyncio.sleep(0.05)  # sampling period of the measurement
        assert first is not None and last is not None
        found = await redis_outputs(settings, expected)
        if found != expected:  # the check that makes the figures worth printing
            wrong = sorted(c for c in expected if found.get(c) != expected[c])
            raise SystemExit(f"{len(wrong)} documents differ from the pure fold: {wrong[:5]}")
        return FoldRun(
            ceiling, floor, len(reports) / (last - first), len(reports) / (views_at - first)
        )
    finally:
        for proc in procs:
            proc.stop()


async def assigned(url: str, topic: str) -> bool:
    """The worker owns the reports partitions and has finished recovering."""
    stats = await read_json(url)
    if not stats:
        return False
    lag = stats.get("consumer_lag", {})
    return any(k.startswith(f"{topic}:") for k in lag) and not stats.get("recovering")


async def takeover_run(precincts: int, logs: Path) -> tuple[int, float, float]:
    """(reports, seconds, reports/s) for a worker taking over one national race's partition:
    the partition filled first, then a worker started on it; timed from the worker's start
    to Redis holding the race's final view (its re-fold done, the view re-published)."""
    definition = national_definition(precincts)
    reports = national_night(definition)
    env = env_for("bench-takeover")
    settings = settings_for(env)
    await publish_definition(settings, definition)
    await produce_reports(settings, reports, chunk=5000)
    expected = expected_outputs(tally_of(definition, reports))
    channel = f"race:{definition.election_id}:PRES"
    started = time.perf_counter()
    # Not `start_services`: it waits for /healthz, which a worker answers only once its
    # re-fold is done (a takeover of 10^6 reports takes longer than its deadline).
    worker = ServiceProcess("aggregate", env, logs / "aggregate.log")
    try:
        worker.start()

        async def final() -> bool:
            if not worker.alive():
                raise SystemExit(f"the worker exited:\n{worker.log_tail(15)}")
            stored = await redis_outputs(settings, [channel])
            return stored.get(channel) == expected[channel]

        await eventually(final, 900, "the race's final view after the takeover")
        seconds = time.perf_counter() - started
    finally:
        worker.stop()
    return len(reports), seconds, len(reports) / seconds


def race_versions(definition: ElectionDefinition, reports: list[Report]) -> list[int | None]:
    """For each report, the version of its race view once it is folded (None: no change)."""
    states: dict[str, RaceState] = {}
    out: list[int | None] = []
    for report in reports:
        state = states.get(report.race_id) or states.setdefault(
            report.race_id, RaceState(definition, report.race_id)
        )
        result = state.apply(report)
        out.append(result.version if result.changed else None)
    return out


class Prober:
    """Matches the race-view changes the probe process saw to the reports they settle.

    A report's latency is from its acknowledgement to the first change of its race
    view at or past the version that report produced (0 if that change came
    first); views are coalesced, so one change can settle several reports."""

    def __init__(self, versions: list[int | None], first_measured: int) -> None:
        self.versions = versions
        self.first_measured = first_measured
        self.acked: dict[int, float] = {}
        self.expected: list[tuple[int, str, int]] = []  # (index, channel, version)

    def expect(self, index: int, channel: str) -> None:
        version = self.versions[index]
        if version is not None:
            self.expected.append((index, channel, version))

    def on_ack(self, index: int, at: float) -> None:
        self.acked[index] = at

    def newest(self) -> dict[str, int]:
        """The version each channel must reach for every expected report to be settled."""
        out: dict[str, int] = {}
        for _, channel, version in self.expected:
            out[channel] = max(out.get(channel, 0), version)
        return out

    def latencies(
        self, changes: dict[str, list[tuple[float, int]]]
    ) -> tuple[list[float], list[str]]:
        """(latencies in seconds of the measured reports, those never settled, described);
        `changes`: per channel, (time, version) in the order Redis published them (the
        conditional writes make versions increase along it)."""
        found: list[float] = []
        missing: list[str] = []
        for index, channel, version in self.expected:
            seen = changes.get(channel, [])
            at = bisect.bisect_left([v for _, v in seen], version)
            if at == len(seen) or index not in self.acked:
                newest = seen[-1][1] if seen else None
                missing.append(f"{channel} v{version} (seen up to v{newest})")
            elif index >= self.first_measured:
                found.append(max(0.0, seen[at][0] - self.acked[index]))
        return found, missing


def start_probe(views: RedisViews, url: str, stop: str, out: Path) -> subprocess.Popen[str]:
    """The subscriber process (bench/race_view_probe.py), once Redis confirmed it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    pattern = views.pubsub_pattern
    probe = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("race_view_probe.py")),
         url, pattern.replace("*", "race:*"), stop, str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert probe.stdout is not None
    if probe.stdout.readline().strip() != "ready":
        probe.kill()
        raise SystemExit("the race-view probe did not subscribe")
    return probe


def read_changes(path: Path) -> dict[str, list[tuple[float, int]]]:
    changes: dict[str, list[tuple[float, int]]] = {}
    for line in path.read_text().splitlines():
        at, channel, version = line.split(" ")
        changes.setdefault(channel, []).append((float(at), int(version)))
    return changes


SPLIT = "BENCH_AGGREGATE_SPLIT"
"""`BENCH_AGGREGATE_SPLIT=1` in a bench's environment: each worker is a races
process (stage 1; the first on the base port, whose /stats the bench reads) beside
a rollups process (stages 2 and 3)."""


ROLE = "VOTEWIRE_AGGREGATE_ROLE"


def start_workers(env: dict[str, str], logs: Path, count: int) -> list[ServiceProcess]:
    """`count` aggregate workers of one consumer group (each its own web port)."""
    split = (env.get(SPLIT) or os.environ.get(SPLIT)) == "1"
    roles = ("races", "rollups") if split else (env.get(ROLE) or os.environ.get(ROLE) or "all",)
    workers = [
        ServiceProcess(
            "aggregate",
            {
                **env,
                "VOTEWIRE_AGGREGATE_PORT": str(free_port()) if n or r else env[PORT],
                ROLE: role,
            },
            logs / f"aggregate-{n}-{role}.log",
        )
        for n in range(count)
        for r, role in enumerate(roles)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_healthy(120)
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers


async def latency_run(
    definition: ElectionDefinition,
    reports: list[Report],
    rate: int,
    seconds: float,
    logs: Path,
    workers: int = 1,
) -> LatencyRun:
    """Warm up (every stage has published once), then send `rate`/s for `seconds`."""
    env = env_for(f"bench-lat{rate}")
    settings = settings_for(env)
    await publish_definition(settings, definition)
    warmup = 200
    chosen = reports[: warmup + int(rate * seconds)]
    prober = Prober(race_versions(definition, chosen), warmup)
    worker_ages: dict[str, object] = {}
    client = aioredis.Redis.from_url(settings.redis_url)
    stop = f"{settings.redis_prefix}:bench-probe-stop"
    out = logs / f"changes-{rate}.txt"
    views = RedisViews(client, settings.redis_prefix)
    probe = start_probe(views, settings.redis_url, stop, out)
    procs: list[ServiceProcess] = []
    cpu: dict[str, float] = {}
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=2
    )
    try:
        procs = start_workers(env, logs, workers)
        await producer.start()

        async def send(index: int, report: Report) -> asyncio.Future[Any]:
            """Enqueue in call order (the order `race_versions` folded), time the ack."""
            prober.expect(index, f"race:{report.election_id}:{report.race_id}")
            sent = await producer.send(
                settings.reports_topic, report_to_bytes(report), key=report_key(report)
            )
            sent.add_done_callback(lambda _: prober.on_ack(index, time.monotonic()))
            return sent

        await asyncio.gather(*[await send(i, r) for i, r in enumerate(chosen[:warmup])])
        summary = f"summary:{definition.election_id}"
        await eventually(lambda: redis_outputs(settings, [summary]), 120, "warm-up views")
        sends: list[asyncio.Future[Any]] = []
        meter = cpu_meter(settings, procs)
        meter.start()
        start = time.perf_counter()
        for n, index in enumerate(range(warmup, len(chosen))):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing
            sends.append(await send(index, chosen[index]))
        await asyncio.gather(*sends)
        achieved = len(sends) / (time.perf_counter() - start)
        newest = prober.newest()

        async def settled() -> bool:
            stored = await views.versions(list(newest))
            return all(stored.get(c, 0) >= v for c, v in newest.items())

        with contextlib.suppress(AssertionError):  # counted as missing below
            await eventually(settled, 60, "the last updates")
        cpu = {k: v * 1e6 / len(sends) for k, v in meter.stop().items()}
        await client.publish(stop, b"stop")  # after every change the probe must see
        if await asyncio.to_thread(probe.wait, 60) != 0:
            raise SystemExit("the race-view probe lost its subscription (see its stderr)")
        latencies, missing = prober.latencies(read_changes(out))
        if missing:
            raise SystemExit(f"{len(missing)} reports never reached their race view: {missing[:5]}")
        stats = await read_json(f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}/stats")
        if stats:
            worker_ages.update(stats["record_age_at_fold"])
            worker_ages["offer_to_redis"] = stats["offer_to_redis"]
            worker_ages["redis_write"] = stats["redis_write_latency"]
            worker_ages["batch_fold_time"] = stats["batch_fold_time"]
    finally:
        if probe.poll() is None:
            probe.kill()
        await producer.stop()
        await client.aclose()
        for proc in procs:
            proc.stop()
    data = sorted(latencies)
    return LatencyRun(
        rate,
        len(chosen) - warmup,
        len(data),
        statistics.median(data) * 1000 if data else float("nan"),
        data[min(len(data) - 1, int(len(data) * 0.99))] * 1000 if data else float("nan"),
        achieved,
        data,
        worker_ages,
        cpu,
    )


def cpu_meter(settings: Settings, procs: list[ServiceProcess]) -> CpuMeter:
    """The worker processes (by role) and the local stack's Kafka and Redis."""
    run = settings.state_dir / "run"
    pids: dict[str, int | None] = {
        "kafka": pid_in(run / "kafka1-1.pid"),
        "redis": pid_in(run / "redis.pid"),
    }
    for n, proc in enumerate(procs):
        role = proc.env.get(ROLE, "all")
        pids[f"{role}-{n}" if len(procs) > 1 else role] = proc.process.pid if proc.process else None
    return CpuMeter(pids)


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'measure'.ljust(width)} | value", f"| {'-' * width} | -----"]
    lines += [f"| {name.ljust(width)} | {value}" for name, value in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--rates", default="200,2000", help="steady rates for latency")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of a latency run")
    parser.add_argument(
        "--workers", type=int, default=1, help="aggregate workers in the latency runs"
    )
    parser.add_argument(
        "--night", choices=("kz-2021", "national"), default="kz-2021",
        help="kz-2021 (730 small races) or one national race (--precincts)",
    )  # fmt: skip
    parser.add_argument("--precincts", type=int, default=10_000, help="of the national race")
    parser.add_argument(
        "--takeover", type=int, default=0,
        help="also time a takeover of a national race of this many precincts (~7 reports each)",
    )  # fmt: skip
    args = parser.parse_args()

    if args.night == "national":
        definition = national_definition(args.precincts)
        reports = national_night(definition)
    else:
        definition, reports = kz_night(FAULTS)
    logs = Path(tempfile.mkdtemp(prefix="bench-aggregate-"))
    print(f"{args.night} night: {len(reports):,} valid reports, {len(definition.races)} races")
    folds = []
    for run in range(args.runs):
        folds.append(await fold_run(definition, reports, logs / f"fold-{run}"))
        print(f"  fold run {run + 1}: {folds[-1]}")
    ceiling = statistics.median(f.ceiling for f in folds)
    floor = statistics.median(f.faust_floor for f in folds)
    fold = statistics.median(f.fold for f in folds)
    views = statistics.median(f.all_views for f in folds)
    rows = [
        ("plain aiokafka consumer (ceiling)", f"{ceiling:,.0f} reports/s"),
        ("no-op faust agent (faust's ceiling)", f"{floor:,.0f} reports/s ({floor / ceiling:.1%})"),
        (
            "aggregate fold, stage 1 (1 worker)",
            f"{fold:,.0f} reports/s ({fold / ceiling:.1%}; {fold / floor:.0%} of no-op faust)",
        ),
        ("aggregate, every view final", f"{views:,.0f} reports/s ({views / ceiling:.1%})"),
    ]
    for rate in (int(r) for r in args.rates.split(",") if r):
        runs = []
        for run in range(args.runs):
            runs.append(
                await latency_run(
                    definition, reports, rate, args.seconds, logs / f"lat-{rate}", args.workers
                )
            )
            print(f"  latency run {run + 1} at {rate}/s: {runs[-1]}")
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        achieved = statistics.median(r.achieved_rate for r in runs)
        rows.append(
            (
                f"ack -> race view @ {rate}/s, {args.workers} worker(s) (sent {achieved:,.0f}/s)",
                f"p50 {p50:,.0f} ms, p99 {p99:,.0f} ms",
            )
        )
    if args.takeover:
        n, seconds, rate = await takeover_run(args.takeover, logs / "takeover")
        rows.append((f"takeover of a partition of {n:,} reports (1 race)",
                     f"{seconds:,.1f} s ({rate:,.0f} reports/s)"))  # fmt: skip
    print(f"\nmedians of {args.runs} run(s); logs in {logs}\n")
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
