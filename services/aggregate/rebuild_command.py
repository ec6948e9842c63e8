"""`votewire rebuild [--election ID ...]`: rewrite every Redis view from Kafka.

The command line of `votewire.aggregate.rebuild` (its docstring is the
contract: safe at any time, idempotent). Prints what it wrote; exit 0, or 2
when Kafka or Redis cannot be reached.
"""

from __future__ import annotations

import asyncio

import click
from votewire.aggregate.rebuild import rebuild_views
from votewire.command import EXIT_OK
from votewire.command import command as votewire_command
from votewire.config import Settings


@votewire_command(
    "rebuild", help="Rewrite every Redis view and anomaly feed from the reports and dead letters."
)
@click.option(
    "--election", "elections", multiple=True, metavar="ID",
    help="Only this election (repeatable); default all.",
)  # fmt: skip
def command(elections: tuple[str, ...]) -> int:
    result = asyncio.run(rebuild_views(Settings.from_env(), list(elections) or None))
    click.echo(
        f"rebuild: {result.elections} election(s), {result.races} race(s): "
        f"{result.written} document(s) written, {result.skipped} already current"
        + (f", {result.anomalies} anomaly(ies) restored" if result.anomalies else "")
        + (f", {result.unknown} report(s) of unknown elections" if result.unknown else "")
    )
    return EXIT_OK
