"""The canonical text built in pieces is byte for byte the one-call encoding."""

from __future__ import annotations

import pytest
from builders import definition_dict
from votewire.core.codec import decode_definition, dumps, encode_definition
from votewire.core.definition_text import canonical_text
from votewire.core.scenario.national import national_definition


@pytest.mark.parametrize("size", [1, 2, 7, 2000])
def test_pieces_equal_the_whole(size: int) -> None:
    """Reference and national definitions, any slice size: identical bytes."""
    for definition in (decode_definition(definition_dict()), national_definition(500, 4, 3)):
        assert canonical_text(definition, size) == dumps(encode_definition(definition))


def test_a_name_that_looks_like_the_splice_point_is_left_alone() -> None:
    """A name holding the text `"precincts":[]` is escaped, so only the key is replaced."""
    obj = definition_dict(name='"races":[] and "precincts":[]')
    obj["races"][0]["name"] = '"precincts":[]'
    definition = decode_definition(obj)
    assert canonical_text(definition, 1) == dumps(encode_definition(definition))
