"""Benchmark of the domain core: validation rate and fold (apply) rate.

    python bench/bench_fold.py [--repeat N] [--runs R] [--seed S] [--synthetic]

Builds an election night: the Kazakhstan 2021 scenario
(`votewire.core.scenario.night.simulate_night` with 5 % of every fault) when
it is available, else (or with --synthetic) a synthetic one of the same
size (730 races, ~1,850 precincts, 6 turnout marks, ~5 % corrections and
~10 % duplicates, shuffled). Then, for each of R runs, it times:

- validation: `validate_report` on every wire payload (dicts, as parsed);
- fold: `ElectionTally.apply` of every report, N times over (a fresh tally
  each time), then one `views()` call (rebuilding every view once).

Prints the median rate of the runs in reports per second.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from votewire.core.codec import decode_definition
from votewire.core.models import ElectionDefinition, Report
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report

MARKS = ["10:00", "12:00", "14:00", "16:00", "18:00", "20:00"]
PARTIES = ["Nur Otan", "Auyl", "Adal", "Ak Zhol", "People's Party", "NSDP", "independent"]


def synthetic_definition(
    rng: random.Random, races: int = 730, precincts: int = 1850
) -> dict[str, Any]:
    regions = [
        {"region_id": f"R{i:02d}", "name": f"Region {i}", "timezone": None} for i in range(14)
    ]
    per_race = [1] * races
    for _ in range(precincts - races):
        per_race[rng.randrange(races)] += 1
    race_list = []
    for i, n in enumerate(per_race):
        k = rng.choice([2, 3, 3, 4])
        race_list.append(
            {
                "race_id": f"A{i:04d}",
                "name": f"Rural district {i}",
                "region_id": regions[i % 14]["region_id"],
                "office": "rural akim",
                "seats": 1,
                "against_all": True,
                "winner_rule": "plurality",
                "against_all_rule": "repeat_election",
                "candidates": [
                    {
                        "candidate_id": f"A{i:04d}-C{j}",
                        "name": f"Candidate {j}",
                        "party": rng.choice(PARTIES),
                    }
                    for j in range(k)
                ],
                "precincts": [
                    {
                        "precinct_id": f"P{j}",
                        "name": f"Station {j}",
                        "registered": rng.randint(150, 1500),
                    }
                    for j in range(n)
                ],
            }
        )
    return {
        "election_id": "kz-2021-bench",
        "name": "Bench election",
        "date": "2021-07-25",
        "timezone": "Asia/Almaty",
        "turnout_marks": MARKS,
        "share_base": "ballots_cast",
        "test": True,
        "regions": regions,
        "races": race_list,
    }


def synthetic_payloads(defn: ElectionDefinition, rng: random.Random) -> list[dict[str, Any]]:
    tz = timezone(timedelta(hours=6))
    out: list[dict[str, Any]] = []
    seq = 0
    for race in defn.races:
        for p in race.precincts:
            final = int(p.registered * rng.uniform(0.6, 0.95))
            for m, mark in enumerate(MARKS):
                seq += 1
                at = datetime(2021, 7, 25, 10 + 2 * m, 5, tzinfo=tz).isoformat()
                out.append(
                    {
                        "kind": "turnout", "report_id": f"t{seq}",
                        "election_id": defn.election_id, "race_id": race.race_id,
                        "precinct_id": p.precinct_id, "mark": mark,
                        "ballots_cast": final * (m + 1) // len(MARKS), "revision": 1,
                        "reported_at": at,
                    }
                )  # fmt: skip
            for revision in (1, 2) if rng.random() < 0.05 else (1,):
                seq += 1
                invalid = final // 50
                against = final // 20
                left = final - invalid - against
                votes = {}
                for c in race.candidates[:-1]:
                    votes[c.candidate_id] = rng.randint(0, left)
                    left -= votes[c.candidate_id]
                votes[race.candidates[-1].candidate_id] = left
                out.append(
                    {
                        "kind": "result", "report_id": f"r{seq}",
                        "election_id": defn.election_id, "race_id": race.race_id,
                        "precinct_id": p.precinct_id, "registered": p.registered,
                        "ballots_cast": final, "votes": votes, "against_all": against,
                        "invalid": invalid, "revision": revision,
                        "reported_at": "2021-07-25T21:30:00+06:00",
                    }
                )  # fmt: skip
    out += rng.sample(out, len(out) // 10)  # duplicates
    rng.shuffle(out)
    return out


def scenario(seed: int, synthetic: bool) -> tuple[ElectionDefinition, list[dict[str, Any]], str]:
    """The kz2021 night (5 % of each fault) if its generator is importable, else synthetic."""
    if not synthetic:
        try:
            from votewire.core.scenario.faults import FaultRates
            from votewire.core.scenario.kz2021 import kz2021_definition
            from votewire.core.scenario.night import simulate_night
        except ImportError:
            pass
        else:
            defn = kz2021_definition(seed)
            night = simulate_night(defn, seed=seed, faults=FaultRates.uniform(0.05))
            return defn, [e.wire() for e in night], "kz2021 scenario night, 5 % faults"
    rng = random.Random(seed)
    defn = decode_definition(synthetic_definition(rng))
    return defn, synthetic_payloads(defn, rng), "synthetic night"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="folds per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--synthetic", action="store_true", help="skip the kz2021 scenario")
    args = parser.parse_args()

    defn, payloads, source = scenario(args.seed, args.synthetic)
    reports: list[Report] = []
    validate_rates = []
    for _ in range(args.runs):
        start = time.perf_counter()
        results = [validate_report(p, defn) for p in payloads]
        validate_rates.append(len(payloads) / (time.perf_counter() - start))
    reports = [r.report for r in results if isinstance(r, Accepted)]
    rejected = len(results) - len(reports)

    fold_rates, view_times = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        for _ in range(args.repeat):
            tally = ElectionTally(defn)
            apply = tally.apply
            for report in reports:
                apply(report)
        fold_rates.append(len(reports) * args.repeat / (time.perf_counter() - start))
        start = time.perf_counter()
        tally.views()
        view_times.append(time.perf_counter() - start)

    print(
        f"source: {source}: {len(defn.races)} races,"
        f" {len(payloads):,} payloads ({rejected} rejected)"
    )
    print(f"counters of the last fold: {tally.counters}")
    print(f"validation: {statistics.median(validate_rates):,.0f} reports/s (median of {args.runs})")
    print(
        f"fold (apply): {statistics.median(fold_rates):,.0f} reports/s"
        f" (median of {args.runs} runs x {args.repeat} folds)"
    )
    print(f"views(): {statistics.median(view_times) * 1000:.1f} ms for all views after a full fold")


if __name__ == "__main__":
    main()
