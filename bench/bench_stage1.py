"""Stage 1's cost per report against the size of a race, in process (no Kafka, no Redis).

    python bench/bench_stage1.py [--sizes 100,1000,10000,100000] [--runs 3] [--svg FILE]

For one race of N precincts (6 candidates, against-all, 6 turnout marks; each
precinct sends its 6 turnout figures and its result protocol, ~7 N reports,
shuffled), the reports are folded by `RaceFolder.fold_batch` in batches of
500 with in-memory ports (the same code as the worker, minus faust and the
network). Per size it prints, median of the runs:

- µs per report of the fold as it is now (decode, apply, one view per changed
  race per batch, packed for stage 2);
- bytes per report sent downstream (stage 2's topic) and written as state
  (nothing: the reports topic is the log);
- beside them, the design this replaced: the same fold plus the race's whole
  state (`RaceState.to_bytes`, every surviving report) written to the
  changelog after every batch, its µs and bytes per report.

The final view is checked against the pure fold (`ElectionTally`) of the same
reports; a wrong total stops the bench. The ratio largest/smallest of µs per
report is the flatness figure (target <= 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from votewire.aggregate.dead_letters import DeadLetters
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Record
from votewire.core.codec import decode_definition, dumps, loads, report_to_bytes
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report, ResultReport, TurnoutReport
from votewire.core.tally import ElectionTally

MARKS = ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]
AT = datetime(2026, 7, 25, 20, 30, tzinfo=timezone(timedelta(hours=5)))
BATCH = 500


def national_definition(precincts: int) -> ElectionDefinition:
    """A presidential race over `precincts` polling stations (one region)."""
    return decode_definition({
        "election_id": "bench-national", "name": "Presidential", "date": "2026-07-25",
        "timezone": "Asia/Almaty", "turnout_marks": MARKS, "share_base": "ballots_cast",
        "test": True, "regions": [{"region_id": "KZ", "name": "Kazakhstan", "timezone": None}],
        "races": [{
            "race_id": "PRES", "name": "President", "region_id": "KZ", "office": "president",
            "seats": 1, "against_all": True, "winner_rule": "majority",
            "against_all_rule": "ignore",
            "candidates": [{"candidate_id": f"c{i}", "name": f"Candidate {i}",
                            "party": f"party{i}"} for i in range(6)],
            "precincts": [{"precinct_id": f"p{i:06d}", "name": f"Station {i}",
                           "registered": 1500} for i in range(precincts)],
        }],
    })  # fmt: skip


def night(definition: ElectionDefinition, seed: int = 7) -> list[Report]:
    rng = random.Random(seed)
    race = definition.races[0]
    reports: list[Report] = []
    for p in race.precincts:
        cast = 0
        for mark in MARKS:
            cast += rng.randint(50, 150)
            reports.append(TurnoutReport(f"t-{p.precinct_id}-{mark}", definition.election_id,
                                         race.race_id, p.precinct_id, mark, cast, 1, AT))
        votes = {c.candidate_id: 0 for c in race.candidates}
        left = cast - 10
        for cid in votes:
            votes[cid] = share = rng.randint(0, left)
            left -= share
        reports.append(ResultReport(f"r-{p.precinct_id}", definition.election_id, race.race_id,
                                    p.precinct_id, p.registered, cast, votes, left, 10, 1, AT))
    rng.shuffle(reports)
    return reports  # fmt: skip


class Topic:
    def __init__(self) -> None:
        self.bytes = 0

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.bytes += len(value)


class Catalog:
    def __init__(self, definition: ElectionDefinition) -> None:
        self.definition = definition

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self.definition

    async def wait_for(self, election_id: str, timeout_s: float) -> ElectionDefinition | None:
        return self.definition


class NoLog:
    async def batches(self, partitions: set[int]) -> AsyncIterator[list[Record]]:
        for _ in ():
            yield []


class Sink:
    def __init__(self) -> None:
        self.last: bytes = b""

    def offer(self, channel: str, version: int, doc: bytes) -> None:
        if channel.startswith("race:"):
            self.last = doc

    def offer_row(self, table: str, key: str, row: bytes) -> None:
        pass

    async def versions(self, channels: Sequence[str]) -> dict[str, int]:
        return {}


async def fold_night(definition: ElectionDefinition, records: list[Record], old: bool) -> dict:
    metrics, sink, out = Metrics(), Sink(), Topic()
    folder = RaceFolder(Definitions(Catalog(definition)), NoLog(), sink, out,
                        DeadLetters(Topic(), metrics), sink, metrics)  # fmt: skip
    state_bytes = 0
    started = time.perf_counter()
    for start in range(0, len(records), BATCH):
        await folder.fold_batch(records[start : start + BATCH])
        if old:  # the replaced design: the whole state to the changelog, every batch
            for state in folder._states.values():
                state_bytes += len(state.to_bytes())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "downstream": out.bytes, "state": state_bytes, "view": sink.last}


async def measure(precincts: int, runs: int, old_max: int) -> dict[str, float]:
    definition = national_definition(precincts)
    reports = night(definition)
    records = [Record(race_key(r.election_id, r.race_id), report_to_bytes(r), 0)
               for r in reports]  # fmt: skip
    tally = ElectionTally(definition)
    for report in reports:
        tally.apply(report)
    truth = loads(dumps(tally.race_view("PRES")))
    new, old = [], []
    designs = ((False, new), (True, old)) if precincts <= old_max else ((False, new),)
    for _ in range(runs):  # side by side, interleaved
        for design, sink in designs:
            got = await fold_night(definition, records, design)
            view = loads(got["view"])
            if view["candidates"] != truth["candidates"] or view["ballots_cast"] != truth[
                "ballots_cast"
            ]:
                raise SystemExit(f"{precincts} precincts: the fold's totals are wrong")
            sink.append(got)
    n = len(records)

    def med(items: list[dict], key: str) -> float:
        return statistics.median(i[key] for i in items)

    return {
        "precincts": precincts,
        "reports": n,
        "us_per_report": med(new, "seconds") / n * 1e6,
        "bytes_per_report": med(new, "downstream") / n,
        "old_us_per_report": med(old, "seconds") / n * 1e6 if old else float("nan"),
        "old_state_bytes_per_report": med(old, "state") / n if old else float("nan"),
    }


def svg(rows: list[dict[str, float]], width: int = 560, height: int = 300) -> str:
    """µs per report against race size (log x), now and the replaced design."""
    import math

    pad = 55
    xs = [math.log10(r["precincts"]) for r in rows]
    finite = [r[k] for r in rows for k in ("us_per_report", "old_us_per_report")
              if r[k] == r[k]]  # fmt: skip
    top = max(max(finite), 1.0) * 1.15
    x0, x1 = min(xs) - 0.2, max(xs) + 0.2

    def px(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def py(y: float) -> float:
        return height - pad - min(y, top) / top * (height - 2 * pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
             'stroke="#333"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
             f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">'
             "precincts in the race (log scale)</text>",
             f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" '
             'text-anchor="middle">µs per report, stage 1</text>']  # fmt: skip
    for x, r in zip(xs, rows, strict=True):
        parts.append(f'<text x="{px(x):.1f}" y="{height - pad + 16}" text-anchor="middle">'
                     f'{int(r["precincts"]):,}</text>')  # fmt: skip
    for key, colour, label in (("us_per_report", "#1f77b4", "now"),
                               ("old_us_per_report", "#d62728", "whole state per batch")):
        drawn = [(x, r) for x, r in zip(xs, rows, strict=True) if r[key] == r[key]]
        points = " ".join(f"{px(x):.1f},{py(r[key]):.1f}" for x, r in drawn)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')
        for x, r in drawn:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(r[key]):.1f}" r="3.5" '
                         f'fill="{colour}"/>')
            parts.append(f'<text x="{px(x):.1f}" y="{py(r[key]) - 8:.1f}" '
                         f'text-anchor="middle" fill="{colour}">{r[key]:.0f}</text>')
        y = pad - 25 if colour == "#1f77b4" else pad - 10
        parts.append(f'<text x="{width - pad}" y="{y}" text-anchor="end" fill="{colour}">'
                     f"{label}</text>")  # fmt: skip
    parts.append("</svg>")
    return "\n".join(parts)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--svg", type=Path, default=Path(__file__).with_name("results") / "stage1-scaling.svg",
        help="write the plot here",
    )  # fmt: skip
    parser.add_argument(
        "--old-max", type=int, default=10_000,
        help="largest race the replaced design is run on (its cost grows with the race: "
        "at 100,000 precincts one night would write ~10^11 bytes of state)",
    )  # fmt: skip
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(await measure(size, args.runs, args.old_max))
        r = rows[-1]
        print(f"{size:>7,} precincts, {r['reports']:>8,} reports: "
              f"{r['us_per_report']:6.1f} µs/report, {r['bytes_per_report']:6.1f} B/report "
              f"downstream, 0 B state | replaced design: {r['old_us_per_report']:8.1f} µs/report,"
              f" {r['old_state_bytes_per_report']:10,.0f} B/report of state",
              flush=True)  # fmt: skip
    flat = max(r["us_per_report"] for r in rows) / min(r["us_per_report"] for r in rows)
    ran_old = [r for r in rows if r["old_us_per_report"] == r["old_us_per_report"]]
    old = ran_old[-1]["old_us_per_report"] / ran_old[0]["old_us_per_report"]
    print(f"\nlargest/smallest µs per report: now {flat:.2f} (target <= 1.5); "
          f"replaced design {old:.1f} up to {ran_old[-1]['precincts']:,} precincts "
          f"(median of {args.runs} runs, interleaved)")
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg(rows))
        print(f"plot: {args.svg}")


if __name__ == "__main__":
    asyncio.run(main())
