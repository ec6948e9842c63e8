"""`votewire election validate | load | list`: the group; each verb is its own module.

votewire election validate FILE [--json]
votewire election load FILE [--url URL] [--token-file F]
votewire election list [--json]
"""

from __future__ import annotations

from votewire.command import group
from votewire.election import listing, load, validate


@group("election", help="Election definitions: check a file, load it through ingest, list them.")
def command() -> None:
    pass


for verb in (validate, load, listing):
    command.add_command(verb.command)
