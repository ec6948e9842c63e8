"""Benchmark of replay: the night from Kafka, from an archive, and a million reports offline.

    python bench/bench_replay.py [--runs R] [--seed S] [--million] [--scale N] [--no-kafka]

Builds the kz-2021 night with 5 % of every fault (about 14,200 accepted
reports, 600 dead letters) and times, R runs each, median:

- kafka replay: `votewire replay` of the night from a real Kafka topic
  (isolated topics on the local stack, produced once, stamped with delivery
  times) into a Redis namespace: read + fold + write every view;
- kafka export: `votewire archive export` of the three topics;
- archive tally: the offline fold of that archive (`votewire tally DIR`:
  read, check the hash chain, fold), no Kafka, no Redis;
- archive verify: `votewire archive verify DIR`.

With `--million`, also a synthetic night of about a million reports
(`kz2021_definition(seed, scale=N)` + `simulate_night`, N = 71 by default: 1.01 million)
written to an archive, then folded offline once (and verified once); the
target is under two minutes. Prints a table. The Kafka rows need the local
stack (`votewire stack up`); `--no-kafka` skips them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from votewire.core.scenario import (
    FaultRates,
    kz2021_definition,
    kz2021_scenario,
    simulate_night,
)
from votewire.replay.archive_export import export
from votewire.replay.archive_fold import fold_archive
from votewire.replay.archive_reader import Archive
from votewire.replay.archive_verify import verify_archive
from votewire.replay.as_of import Window
from votewire.replay.replay_command import replay

from tests.support.log_producer import drop_keys, produce_night
from tests.support.night_log import NightLog, night_log, write_archive
from tests.support.stack import isolated_env, settings_for

Row = tuple[str, int, int, float]
"""(what, records, runs, median seconds)."""


def timed(runs: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_night(seed: int, scale: int) -> tuple[object, NightLog, float]:
    start = time.perf_counter()
    definition = kz2021_definition(seed, scale=scale)
    night = simulate_night(definition, seed=seed, faults=FaultRates.uniform(0.05))
    log = night_log(definition, night, partitions=6)
    return definition, log, time.perf_counter() - start


def archive_rows(directory: Path, runs: int, label: str) -> list[Row]:
    """Offline fold and verify of the archive in `directory`."""
    archive = Archive(directory)
    n = archive.count("reports")
    total = sum(f.records for f in archive.manifest.files)
    fold_s = timed(runs, lambda: fold_archive(Archive(directory)))
    verify_s = timed(runs, lambda: verify_archive(directory))
    return [(f"{label}: archive tally (offline fold)", n, runs, fold_s),
            (f"{label}: archive verify", total, runs, verify_s)]  # fmt: skip


def kafka_rows(log: NightLog, runs: int, workdir: Path) -> list[Row]:
    settings = settings_for(isolated_env("bench"))
    asyncio.run(produce_night(settings, log))
    n = len(log.reports)
    try:
        replay_s = timed(
            runs, lambda: asyncio.run(replay(settings, namespace="bench", window=Window()))
        )
        exports = iter(range(runs))
        export_s = timed(
            runs, lambda: asyncio.run(export(settings, workdir / f"export-{next(exports)}"))
        )
    finally:
        asyncio.run(drop_keys(settings))
    total = n + len(log.dead_letters) + len(log.definitions)
    rows: list[Row] = [
        ("night: kafka replay (read + fold + redis)", n, runs, replay_s),
        ("night: kafka export (3 topics -> archive)", total, runs, export_s),
    ]
    return rows + archive_rows(workdir / "export-0", runs, "night (exported)")


def print_table(rows: list[Row]) -> None:
    headers = ("what", "records", "runs", "median s", "records/s")
    cells = [(what, f"{n:,}", str(runs), f"{s:.2f}", f"{n / s:,.0f}") for what, n, runs, s in rows]
    widths = [max(len(str(c[i])) for c in [headers, *cells]) for i in range(len(headers))]
    print("  ".join(h.ljust(widths[i]) if i == 0 else h.rjust(widths[i])
                    for i, h in enumerate(headers)))  # fmt: skip
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                        for i, c in enumerate(row)))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--million", action="store_true", help="add the ~1M-report night")
    parser.add_argument("--scale", type=int, default=71, help="scale of the --million night")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Kafka rows")
    args = parser.parse_args()

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        work = Path(tmp)
        _, log, built = build_night(args.seed, 1)
        print(f"kz-2021 night, 5 % faults: {len(log.reports):,} reports, "
              f"{len(log.dead_letters):,} dead letters (built in {built:.1f}s)")  # fmt: skip
        if args.no_kafka:
            write_archive(work / "night", log)
            rows += archive_rows(work / "night", args.runs, "night")
        else:
            rows += kafka_rows(log, args.runs, work)
        if args.million:
            _, big, built = build_night(args.seed, args.scale)
            start = time.perf_counter()
            write_archive(work / "million", big)
            wrote = time.perf_counter() - start
            print(f"scale {args.scale}: {len(big.reports):,} reports "
                  f"(night built in {built:.0f}s, archive written in {wrote:.0f}s)")  # fmt: skip
            del big  # time the fold as the command runs it: without the generator's night
            for cached in (kz2021_definition, kz2021_scenario):
                getattr(cached, "cache_clear", lambda: None)()
            gc.collect()
            rows += archive_rows(work / "million", 1, f"scale {args.scale}")
    print()
    print_table(rows)
    million = [r for r in rows if r[0].startswith("scale") and "tally" in r[0]]
    if million:
        seconds = million[0][3]
        verdict = "met" if seconds < 120 else "MISSED"
        print(f"\nmillion-report offline replay: {seconds:.1f}s (target < 120 s: {verdict})")


if __name__ == "__main__":
    main()
