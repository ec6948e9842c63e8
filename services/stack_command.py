"""`votewire stack up|down|status`: the local Kafka and Redis of a checkout.

The verbs are deploy/stack.py's (its docstring is the contract: idempotent
`up`, `down` stops only what it started); this module only lists them for
`votewire stack --help` and hands each to that script, which needs the
repository (`NeedsCheckout` otherwise: exit 2 with a plain sentence).
"""

from __future__ import annotations

import runpy

import click
from votewire.command import group
from votewire.config import local_stack_script


def run_stack(*argv: str) -> int:
    """deploy/stack.py's `main(argv)`; its exit status."""
    stack = runpy.run_path(str(local_stack_script()), run_name="votewire_stack")
    return int(stack["main"](list(argv)))


@group("stack", help="The local Kafka (KRaft) and Redis, run as processes of this checkout.")
def command() -> None:
    pass


@command.command(help="Start Kafka and Redis (idempotent; waits until they answer).")
@click.option("--brokers", type=click.Choice(["1", "3"]), default="1", show_default=True)
def up(brokers: str) -> int:
    return run_stack("up", "--brokers", brokers)


@command.command(help="Stop what this stack started.")
def down() -> int:
    return run_stack("down")


@command.command(help="What runs where, and the state directory.")
def status() -> int:
    return run_stack("status")
