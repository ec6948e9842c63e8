"""`votewire scenario`: write a reference scenario's definition and night to files.

    votewire scenario kz-2021 --out DIR [--seed N] [--faults RATE] [--scale N]
    votewire scenario national --precincts N [--regions R] --out DIR [--seed N] [--faults RATE]
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

import json
from collections import Counter
from pathlib import Path

import click
from votewire.command import Failed
from votewire.command import command as votewire_command
from votewire.core.codec import encode_definition
from votewire.core.scenario import FaultRates, kz2021_definition, simulate_night
from votewire.core.scenario.national import national_definition

SCENARIOS = ("kz-2021", "national")


@votewire_command("scenario", help="Generate a reference election night and write it to DIR.")
@click.argument("name", type=click.Choice(SCENARIOS))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR"
)
@click.option("--seed", type=int, default=2021, show_default=True, help="Random seed.")
@click.option(
    "--faults",
    type=float,
    default=0.0,
    metavar="RATE",
    help="Rate of every fault: duplicates, corrections, reorder, late, malformed (0-1).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    metavar="N",
    help="kz-2021: N times the races and precincts (only 1 reproduces the published figures).",
)
@click.option(
    "--precincts", type=click.IntRange(min=1), default=10_000, show_default=True, metavar="N",
    help="national: precincts of the presidential race.",
)  # fmt: skip
@click.option(
    "--regions", type=click.IntRange(min=1), default=14, show_default=True, metavar="R",
    help="national: regions the precincts are spread over.",
)  # fmt: skip
def command(
    name: str, out: Path, seed: int, faults: float, scale: int, precincts: int, regions: int
) -> int:
    """Generate and write the scenario; see the module doc."""
    try:
        rates = FaultRates.uniform(faults)
    except ValueError as exc:
        raise Failed(f"--faults: {exc}") from None
    if name == "kz-2021":
        definition = kz2021_definition(seed, scale)
    elif regions > precincts:
        raise Failed("need --regions <= --precincts")
    else:
        definition = national_definition(precincts, regions, seed)
    night = simulate_night(definition, seed=seed, faults=rates)
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
        raise Failed(f"cannot write to {out}: {exc}") from None
    faulty = Counter(e.fault for e in night if e.fault is not None)
    malformed = sum(1 for e in night if e.malformed)
    entries = sum(len(r.precincts) for r in definition.races)
    size = f"scale={scale}" if name == "kz-2021" else f"precincts={precincts}"
    click.echo(
        f"{name} seed={seed} {size} faults={faults}: "
        f"{len(definition.regions)} regions, {len(definition.races)} races, "
        f"{entries} precincts; {len(night)} reports ({sum(faulty.values())} faulty, "
        f"{malformed} malformed) -> {out}"
    )
    return 0

