"""`votewire election validate | load | list`: the group; each verb is its own module.

votewire election validate FILE [--json]
votewire election load FILE [--url URL] [--token-file F]
votewire election list [--json]
"""

from __future__ import annotations

from typing import Any

from votewire.election import listing, load, validate


def add_parser(subparsers: Any) -> None:
    """Register `votewire election` and its verbs on the `votewire` command's subparsers."""
    parser = subparsers.add_parser(
        "election",
        help="validate, load or list election definitions",
        description="Election definitions: check a file, load it through ingest, list them.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="validate|load|list")
    for module in (validate, load, listing):
        module.add_parser(verbs)
