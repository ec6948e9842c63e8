"""Fixtures of the unit tests; the builders themselves live in `builders.py`."""

from __future__ import annotations

import pytest
from builders import reference
from votewire.core.models import ElectionDefinition


@pytest.fixture
def defn() -> ElectionDefinition:
    """The small reference election of `builders` (see its docstring)."""
    return reference()
