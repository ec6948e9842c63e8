"""Replay namespaces and the progress line: names that cannot reach the live keys, an ETA."""

from __future__ import annotations

import io

import pytest
from votewire.replay.progress import Progress
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


def test_progress_shows_rate_and_eta() -> None:
    """With a known total: percentage, rate and ETA; at the end the elapsed time."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, unit="records", label="replay", clock=lambda: now[0])
    progress.set_total(1000)
    now[0] = 2.0
    progress.update(250)
    assert "replay:  25% 250 records, 125/s, ETA 0:06" in stream.getvalue()
    now[0] = 8.0
    progress.finish(1000)
    assert stream.getvalue().endswith("100% 1,000 records, 125/s, 0:08 elapsed   \n")
