"""`votewire scenario`: write a reference scenario's definition and night to files.

    votewire scenario kz-2021 --out DIR [--seed N] [--faults RATE] [--scale N]
    votewire scenario national --out DIR --precincts N [--regions R] [--seed N] [--faults RATE]

`national` is one presidential race (majority rule, against-all) over N
precincts in R regions plus a local race per region
(`votewire.core.scenario.national`); each precinct id names its region
(`<region_id>-p<number>`).

Writes `DIR/definition.json` (`codec.encode_definition`, indented) and
`DIR/reports.jsonl`: one JSON report per line in delivery order
(`codec.encode_report`, or the raw object of a malformed report), UTF-8 with
non-ASCII kept as is. `DIR` is created if missing; both files are replaced.
Prints a one-line summary on stdout. `--faults RATE` sets every fault rate
of `FaultRates` to RATE (the same fault kinds for both scenarios). Exit
status 0, or 2 for a bad argument or an unwritable `DIR`. `votewire tally
--definition DIR/definition.json DIR/reports.jsonl` folds what it wrote.

The files carry no delivery times; a real-time sink paces
`votewire.core.scenario.simulate_night` (its `Emitted.offset_seconds`)
directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from votewire.core.codec import encode_definition
from votewire.core.models import ElectionDefinition
from votewire.core.scenario import FaultRates, kz2021_definition, simulate_night
from votewire.core.scenario.national import national_definition

SCENARIOS = ("kz-2021", "national")


def add_parser(subparsers: Any) -> None:
    """Register the `scenario` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "scenario",
        help="write a reference scenario: definition.json + reports.jsonl",
        description="Generate a reference election night and write it to DIR.",
    )
    parser.add_argument("name", choices=SCENARIOS, help="which scenario")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--seed", type=int, default=2021, help="random seed (default 2021)")
    parser.add_argument(
        "--faults", type=float, default=0.0, metavar="RATE",
        help="rate of every fault: duplicates, corrections, reorder, late, malformed (0-1)",
    )  # fmt: skip
    parser.add_argument(
        "--scale", type=int, default=1, metavar="N",
        help="kz-2021: N times the races and precincts (only 1 reproduces the published figures)",
    )  # fmt: skip
    parser.add_argument(
        "--precincts", type=int, default=10_000, metavar="N",
        help="national: precincts of the presidential race (default 10000)",
    )  # fmt: skip
    parser.add_argument(
        "--regions", type=int, default=14, metavar="R",
        help="national: regions the precincts are spread over (default 14)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the scenario; see the module doc."""
    if args.scale < 1:
        print("votewire scenario: --scale must be >= 1", file=sys.stderr)
        return 2
    try:
        faults = FaultRates.uniform(args.faults)
    except ValueError as exc:
        print(f"votewire scenario: --faults: {exc}", file=sys.stderr)
        return 2
    definition = _definition(args)
    if definition is None:
        return 2
    night = simulate_night(definition, seed=args.seed, faults=faults)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        with (out / "definition.json").open("w", encoding="utf-8") as f:
            json.dump(encode_definition(definition), f, ensure_ascii=False, indent=2)
            f.write("\n")
        with (out / "reports.jsonl").open("w", encoding="utf-8") as f:
            for emitted in night:
                f.write(json.dumps(emitted.wire(), ensure_ascii=False))
                f.write("\n")
    except OSError as exc:
        print(f"votewire scenario: cannot write to {out}: {exc}", file=sys.stderr)
        return 2
    faulty = Counter(e.fault for e in night if e.fault is not None)
    malformed = sum(1 for e in night if e.malformed)
    precincts = sum(len(r.precincts) for r in definition.races)
    size = f"scale={args.scale}" if args.name == "kz-2021" else f"precincts={args.precincts}"
    print(
        f"{args.name} seed={args.seed} {size} faults={args.faults}: "
        f"{len(definition.regions)} regions, {len(definition.races)} races, "
        f"{precincts} precincts; {len(night)} reports ({sum(faulty.values())} faulty, "
        f"{malformed} malformed) -> {out}"
    )
    return 0


def _definition(args: argparse.Namespace) -> ElectionDefinition | None:
    if args.name == "kz-2021":
        return kz2021_definition(args.seed, args.scale)
    if not 1 <= args.regions <= args.precincts:
        print("votewire scenario: need 1 <= --regions <= --precincts", file=sys.stderr)
        return None
    return national_definition(args.precincts, args.regions, args.seed)
