"""Stage 1 in process on the kz-2021 night: CPU µs per report (no Kafka, no Redis).

    python bench/stage1_kz.py [--batch 12] [--reps 3] [--profile]

The kz-2021 night with faults (as `bench_aggregate.py`) encoded as records and
folded by `RaceFolder.fold_batch` in batches of `--batch` with the in-memory
ports of `bench_stage1.py`. Batches of ~12-20 are what the live worker folds
on that night (730 small races: nearly every report renders and sends its race
view). Prints CPU time (`time.process_time`) per report for each repetition;
`--profile` adds a cProfile table of one more repetition. For before/after,
run it with the old code on PYTHONPATH in turns (see bench/interleaved.py).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_aggregate import FAULTS
from bench_stage1 import Catalog, NoLog, Sink, Topic
from votewire.aggregate.dead_letters import DeadLetters
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Record
from votewire.core.codec import report_to_bytes

from tests.support.aggregate_night import kz_night, report_key


async def fold(records: list[Record], definition: object, batch: int) -> float:
    metrics, sink, out = Metrics(), Sink(), Topic()
    folder = RaceFolder(Definitions(Catalog(definition)), NoLog(), sink, out,  # type: ignore[arg-type]
                        DeadLetters(Topic(), metrics), sink, metrics)  # fmt: skip
    started = time.process_time()
    for start in range(0, len(records), batch):
        await folder.fold_batch(records[start : start + batch])
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    definition, reports = kz_night(FAULTS)
    records = [Record(report_key(r), report_to_bytes(r), 0) for r in reports]
    for _ in range(args.reps):
        seconds = asyncio.run(fold(records, definition, args.batch))
        print(f"batch {args.batch}: {seconds / len(records) * 1e6:.1f} us/report (CPU)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(asyncio.run, fold(records, definition, args.batch))
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
