"""Replay writes the aggregate's channels and documents, byte for byte."""

from __future__ import annotations

from votewire.aggregate.channels import election_outputs
from votewire.replay.view_channels import view_channels, view_documents

from tests.support.night_log import kz_night, pure_views


def test_replay_publishes_what_the_aggregate_publishes() -> None:
    """Early in the night (some races unheard): replay's documents are exactly what the
    aggregate publishes from the same race views, and no unheard race has a view."""
    definition, log = kz_night(0.05)
    early = sorted(ms for ms, _ in log.accepted)[len(log.accepted) // 20]
    views, tally = pure_views(definition, log, until_ms=early)
    ours = view_documents(tally)
    heard = {r: v for r, v in views["races"].items() if v["version"] > 0}
    assert len(heard) < len(definition.races)
    assert sorted(ours) == sorted(tuple(o) for o in election_outputs(definition, heard))
    e = definition.election_id
    assert {c for c, _, _ in ours if c.startswith("race:")} == {f"race:{e}:{r}" for r in heard}


def test_the_audit_compares_nation_then_regions_then_races() -> None:
    """`view_channels` lists the summary first, then regions, then races."""
    definition, _ = kz_night(0.05)
    channels = [c for _, _, c in view_channels(definition)]
    e = definition.election_id
    assert channels[:2] == [f"summary:{e}", f"region:{e}:akmola"]
    assert len(channels) == 1 + len(definition.regions) + len(definition.races)
