"""JSON parsed in steps equals json.loads, and fails where it fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from votewire.core.json_steps import loads_in_steps

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(JSON_VALUES, st.sampled_from([None, 0, 2]), st.integers(min_value=0, max_value=5))
def test_equals_json_loads(value: Any, indent: int | None, depth: int) -> None:
    """Any value, compact or indented, at any depth: the same value back."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert loads_in_steps(f" \n{text}\t", depth) == json.loads(text)


@pytest.mark.parametrize(
    "text", ["", "{", "[1,]", '{"a" 1}', '{"a":1,}', "[1 2]", '{"a":1}x', "{1:2}", "[", "nul"]
)
def test_fails_where_json_loads_fails(text: str) -> None:
    """Broken documents raise ValueError, as json.loads does."""
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads_in_steps(text)
