"""Parsing JSON in small steps, so a 20 MB document does not hold the GIL for a second.

`json.loads` of a national definition is one call into the C decoder that
holds the GIL throughout (0.3 to 1.5 s here, more when the machine is busy):
in a worker thread it still stops the event loop that long. `loads_in_steps`
walks the containers of the top `depth` levels in Python and hands each value
below them to the C decoder (`JSONDecoder.raw_decode`), so each call parses
one small value (a precinct, a candidate) and other threads get their turn
between calls. The result equals `json.loads(text)` for every input, and it
raises `ValueError` (a `json.JSONDecodeError` for a bad value) where
`json.loads` would.

Depth 4 fits a definition: top object, `races`, a race, its `precincts`,
then each precinct whole.
"""

from __future__ import annotations

import json
from typing import Any

_DECODER = json.JSONDecoder()
_SPACE = frozenset(" \t\n\r")


def _skip(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    return i


def _fail(text: str, i: int, what: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(what, text, i)


def _value(text: str, i: int, depth: int) -> tuple[Any, int]:
    if i >= len(text):
        raise _fail(text, i, "Expecting value")
    first = text[i]
    if depth <= 0 or first not in "{[":
        return _DECODER.raw_decode(text, i)
    if first == "[":
        items: list[Any] = []
        i = _skip(text, i + 1)
        if text.startswith("]", i):
            return items, i + 1
        while True:
            item, i = _value(text, i, depth - 1)
            items.append(item)
            i = _skip(text, i)
            if text.startswith(",", i):
                i = _skip(text, i + 1)
            elif text.startswith("]", i):
                return items, i + 1
            else:
                raise _fail(text, i, "Expecting ',' delimiter")
    obj: dict[str, Any] = {}
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return obj, i + 1
    while True:
        if not text.startswith('"', i):
            raise _fail(text, i, "Expecting property name enclosed in double quotes")
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if not text.startswith(":", i):
            raise _fail(text, i, "Expecting ':' delimiter")
        obj[key], i = _value(text, _skip(text, i + 1), depth - 1)
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
        elif text.startswith("}", i):
            return obj, i + 1
        else:
            raise _fail(text, i, "Expecting ',' delimiter")


def loads_in_steps(text: str | bytes, depth: int = 4) -> Any:
    """`json.loads(text)`, parsed in steps (see the module doc)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    value, end = _value(text, _skip(text, 0), depth)
    end = _skip(text, end)
    if end != len(text):
        raise _fail(text, end, "Extra data")
    return value
