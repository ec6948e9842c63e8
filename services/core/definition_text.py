"""The canonical JSON text of a definition, built from small pieces.

`canonical_text(definition)` equals `codec.dumps(codec.encode_definition(definition))`
byte for byte; it is what a definition is published as (`definition_records`).
One `dumps` of a national definition (200,000 precincts) is a single call into
the C encoder of about a second, holding the GIL all along: run in a worker
thread it still stalls the event loop for that second. Built from slices of
`SLICE` precincts, each call is a few milliseconds, and the interpreter can
switch threads between them.

Splicing is exact because the canonical form is compact with sorted keys: a
list's text is its elements' texts joined by ",", and the key `"races":[]`
(or `"precincts":[]`) of an object whose list was left empty occurs once in
its text (a JSON string cannot hold an unescaped quote).
"""

from __future__ import annotations

from dataclasses import replace

from votewire.core.codec import dumps, encode_definition, encode_precinct, encode_race
from votewire.core.models import ElectionDefinition, Precinct, Race

SLICE = 2000
"""Precincts encoded per `dumps` call."""


def _precincts(precincts: tuple[Precinct, ...], size: int) -> bytes:
    pieces = []
    for start in range(0, len(precincts), size):
        chunk = [encode_precinct(p) for p in precincts[start : start + size]]
        pieces.append(dumps(chunk)[1:-1])
    return b"[" + b",".join(pieces) + b"]"


def _race(race: Race, size: int) -> bytes:
    shell = dumps(encode_race(replace(race, precincts=())))
    return shell.replace(b'"precincts":[]', b'"precincts":' + _precincts(race.precincts, size), 1)


def canonical_text(definition: ElectionDefinition, size: int = SLICE) -> bytes:
    """`dumps(encode_definition(definition))`, in pieces (see the module doc)."""
    shell = dumps(encode_definition(replace(definition, races=())))
    races = b"[" + b",".join(_race(r, size) for r in definition.races) + b"]"
    return shell.replace(b'"races":[]', b'"races":' + races, 1)
