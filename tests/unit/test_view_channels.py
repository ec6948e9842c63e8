"""Replay writes the aggregate's channels and documents, byte for byte."""

from __future__ import annotations

import pytest
from votewire.core.codec import dumps
from votewire.replay.view_channels import view_channels, view_documents

from tests.support.night_log import kz_night, pure_views


def test_every_view_has_its_channel() -> None:
    """Races, regions (and their turnout), the summary, the race list, national turnout."""
    definition, log = kz_night(0.05)
    _, tally = pure_views(definition, log)
    docs = view_documents(tally)
    channels = [c for c, _, _ in docs]
    e = definition.election_id
    assert len(channels) == len(set(channels)) == len(definition.races) + 2 * 14 + 3
    assert f"summary:{e}" in channels and f"turnout:{e}:akmola" in channels
    summary = dict((c, (v, d)) for c, v, d in docs)[f"summary:{e}"]
    assert summary == (tally.national_view()["version"], dumps(tally.national_view()))
    assert [c for _, _, c in view_channels(definition)][:2] == [
        f"summary:{e}",
        f"region:{e}:akmola",
    ]


def test_documents_match_the_aggregate() -> None:
    """The turnout documents and race list equal what the aggregate's builders make."""
    channels = pytest.importorskip("votewire.aggregate.channels")
    definition, log = kz_night(0.05)
    _, tally = pure_views(definition, log)
    ours = {c: d for c, _, d in view_documents(tally)}
    views = tally.views()
    e = definition.election_id
    for region in definition.regions:
        rv = views["regions"][region.region_id]
        for output in channels.region_outputs(rv):
            assert ours[output.channel] == output.doc
    lines = {
        region.region_id: channels.region_lines(definition, region.region_id, views["races"])
        for region in definition.regions
    }
    encoded = {g: channels.encode_lines(found) for g, found in lines.items()}
    for output in channels.national_outputs(definition, views["national"], encoded):
        assert ours[output.channel] == output.doc, output.channel
    some = dict(list(lines.items())[:3])  # regions not heard from yet: empty lines
    assert channels.races_doc_bytes(
        definition, 7, {g: channels.encode_lines(found) for g, found in some.items()}
    ) == dumps(channels.races_doc(definition, 7, some))
    race = definition.races[0].race_id
    assert ours[channels.race_channel(e, race)] == dumps(views["races"][race])
