"""`votewire election validate | load | list | retire`: the group; each verb is its own module.

votewire election validate FILE [--json]
votewire election load FILE [--url URL] [--token-file F]
votewire election list [--json]
votewire election retire ID [--url URL] [--token-file F] [--undo]
"""

from __future__ import annotations

from votewire.command import group
from votewire.election import listing, load, retire, validate


@group("election", help="Election definitions: check, load through ingest, list, retire.")
def command() -> None:
    pass


for verb in (validate, load, listing, retire):
    command.add_command(verb.command)
