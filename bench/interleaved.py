"""Before/after figures of the aggregate on a shared, noisy machine: runs interleaved.

    python bench/interleaved.py fold ROUNDS NAME=ENV ...
    python bench/interleaved.py latency ROUNDS RATE NAME=ENV ...
    python bench/interleaved.py takeover ROUNDS PRECINCTS NAME=ENV ...

Each NAME=ENV is a configuration: environment overrides `K=V,K=V` for the
worker (and this process), e.g. `old=PYTHONPATH=/tmp/base` where /tmp/base
holds a `votewire` symlink to another checkout's `services` (the code before
a change: `git archive <commit> | tar -x -C /tmp/base-tree`), or
`si500=VOTEWIRE_AGGREGATE_SWITCH_INTERVAL_US=500`; `new=` is this checkout.
Per round, every configuration runs once, in order, so that a busy spell of
the machine hits all of them alike; the medians are printed at the end.

- `fold`: `bench_aggregate.fold_run` on the kz-2021 night (stage 1's rate,
  and the no-op faust agent's in the same run);
- `latency`: `bench_aggregate.latency_run` at RATE/s for 6 s, kz-2021, one worker:
  ack -> race view p50/p99, and the CPU µs per report of each worker process,
  Kafka and Redis over the run (steadier than the latency on a noisy machine);
- `takeover`: one national race of PRECINCTS stations is produced once, then
  each configuration's worker (own consumer group and Redis prefix) takes
  over its partition: seconds from the worker's start to the race's final
  view, the re-fold's own time from its log, and when its consumer lag
  reached 0 (records past the re-fold consumed again, as duplicates, count
  in `reports_folded`).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_aggregate as b

from tests.support.stack import free_port


def configs(args: list[str]) -> list[tuple[str, dict[str, str]]]:
    out = []
    for arg in args:
        name, _, pairs = arg.partition("=")
        out.append((name, dict(p.split("=", 1) for p in pairs.split(",") if p)))
    return out


def using(env: dict[str, str], base: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(base)
    os.environ.update(env)


async def fold(rounds: int, runs: list[tuple[str, dict[str, str]]]) -> None:
    definition, reports = b.kz_night(b.FAULTS)
    logs = Path(tempfile.mkdtemp(prefix="interleaved-fold-"))
    got: dict[str, list[b.FoldRun]] = {n: [] for n, _ in runs}
    base = dict(os.environ)
    for r in range(rounds):
        for name, env in runs:
            using(env, base)
            f = await b.fold_run(definition, reports, logs / f"{name}-{r}")
            got[name].append(f)
            print(
                f"round {r} {name}: fold {f.fold:,.0f}/s, no-op faust {f.faust_floor:,.0f}/s "
                f"({f.fold / f.faust_floor:.0%}), all views {f.all_views:,.0f}/s",
                flush=True,
            )
    using({}, base)
    for name, fs in got.items():
        print(
            f"MEDIAN {name}: fold {statistics.median(f.fold for f in fs):,.0f}/s, no-op faust "
            f"{statistics.median(f.faust_floor for f in fs):,.0f}/s, ratio "
            f"{statistics.median(f.fold / f.faust_floor for f in fs):.0%}"
        )


async def latency(rounds: int, rate: int, runs: list[tuple[str, dict[str, str]]]) -> None:
    definition, reports = b.kz_night(b.FAULTS)
    logs = Path(tempfile.mkdtemp(prefix="interleaved-latency-"))
    got: dict[str, list[b.LatencyRun]] = {n: [] for n, _ in runs}
    base = dict(os.environ)
    for r in range(rounds):
        for name, env in runs:
            using(env, base)
            run = await b.latency_run(definition, reports, rate, 6.0, logs / f"{name}-{r}")
            got[name].append(run)
            print(
                f"round {r} {name} @ {rate}/s: p50 {run.p50_ms:,.0f} ms, p99 "
                f"{run.p99_ms:,.0f} ms (sent {run.achieved_rate:,.0f}/s); {cpu_text(run.cpu_us)}",
                flush=True,
            )
    using({}, base)
    for name, lr in got.items():
        cpu = {k: statistics.median(x.cpu_us.get(k, 0.0) for x in lr) for k in lr[0].cpu_us}
        print(
            f"MEDIAN {name} @ {rate}/s: p50 {statistics.median(x.p50_ms for x in lr):,.0f} ms,"
            f" p99 {statistics.median(x.p99_ms for x in lr):,.0f} ms; {cpu_text(cpu)}"
        )


def cpu_text(cpu: dict[str, float]) -> str:
    """CPU µs per report sent, per process, and their sum."""
    parts = [f"{k} {v:,.0f}" for k, v in cpu.items()]
    return f"CPU µs/report: {', '.join(parts)}, total {sum(cpu.values()):,.0f}"


async def takeover(rounds: int, precincts: int, runs: list[tuple[str, dict[str, str]]]) -> None:
    definition = b.national_definition(precincts)
    reports = b.national_night(definition)
    env0 = b.env_for("bench-takeover")
    settings0 = b.settings_for(env0)
    await b.publish_definition(settings0, definition)
    started = time.perf_counter()
    await b.produce_reports(settings0, reports, chunk=5000)
    print(f"produced {len(reports):,} reports in {time.perf_counter() - started:.1f} s", flush=True)
    expected = b.expected_outputs(b.tally_of(definition, reports))
    channel = f"race:{definition.election_id}:PRES"
    logs = Path(tempfile.mkdtemp(prefix="interleaved-takeover-"))
    got: dict[str, list[float]] = {n: [] for n, _ in runs}
    for r in range(rounds):
        for name, extra in runs:
            tag = f"t{uuid.uuid4().hex[:8]}-takeover-{name}"
            env = {
                **env0,
                "VOTEWIRE_REDIS_PREFIX": tag,
                "VOTEWIRE_AGGREGATE_APP_ID": tag,
                "VOTEWIRE_AGGREGATE_PORT": str(free_port()),
                **extra,
            }
            settings = b.settings_for(env)
            log = logs / f"{name}-{r}.log"
            worker = b.ServiceProcess("aggregate", env, log)
            started = time.perf_counter()
            try:
                worker.start()

                async def final() -> bool:
                    stored = await b.redis_outputs(settings, [channel])  # noqa: B023
                    return stored.get(channel) == expected[channel]

                await b.eventually(final, 900, "the race's final view")
                seconds = time.perf_counter() - started
                stats = f"http://127.0.0.1:{env['VOTEWIRE_AGGREGATE_PORT']}/stats"

                async def caught_up() -> dict[str, object] | None:
                    found = await b.read_json(stats)  # noqa: B023
                    lag = (found or {}).get("consumer_lag") or {}
                    return found if lag and not any(lag.values()) else None

                found = await b.eventually(caught_up, 900, "the worker's lag to reach 0")
                caught = time.perf_counter() - started
            finally:
                worker.stop()
            refold = re.findall(r"re-folded partitions .*? in ([0-9.]+) s", log.read_text())
            got[name].append(seconds)
            again = found["counters"].get("reports_folded", 0)  # type: ignore[index]
            print(
                f"round {r} {name}: {len(reports):,} reports taken over in {seconds:.1f} s "
                f"(the re-fold itself {', '.join(refold)} s); consumer caught up at "
                f"{caught:.1f} s, {again:,} reports folded again after the re-fold",
                flush=True,
            )
    for name, xs in got.items():
        print(f"MEDIAN {name}: {statistics.median(xs):.1f} s")


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in ("fold", "latency", "takeover"):
        raise SystemExit(__doc__)
    mode, rounds = sys.argv[1], int(sys.argv[2])
    if mode == "fold":
        asyncio.run(fold(rounds, configs(sys.argv[3:])))
    elif mode == "latency":
        asyncio.run(latency(rounds, int(sys.argv[3]), configs(sys.argv[4:])))
    else:
        asyncio.run(takeover(rounds, int(sys.argv[3]), configs(sys.argv[4:])))


if __name__ == "__main__":
    main()
