"""Replay namespaces: names that cannot reach the live keys."""

from __future__ import annotations

import pytest
from votewire.replay.replay_store import BadNamespace, ReplayNamespace, namespace_prefix


def test_a_namespace_has_its_own_prefix() -> None:
    """NAME -> <redis prefix>-replay-NAME; names that could glob or escape are refused."""
    assert namespace_prefix("vw", "night-1") == "vw-replay-night-1"
    for bad in ("", "a*", "a:b", "x" * 65, "-lead", "a b", "[ab]"):
        with pytest.raises(BadNamespace):
            namespace_prefix("vw", bad)


def test_the_live_prefix_is_refused() -> None:
    """A namespace store can never be opened on the live prefix itself."""
    with pytest.raises(BadNamespace):
        ReplayNamespace(client=None, prefix="vw", live_prefix="vw")  # type: ignore[arg-type]
