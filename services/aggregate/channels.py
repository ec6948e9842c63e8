"""The aggregate's outputs: the core's publications (`votewire.core.publication`)
as `ports.Output`, for the stages, `rebuild` and tests.

What an election publishes, and every document on its channels, is built
once, in `votewire.core.publication` (docs/aggregate.md, "Channels"); replay
publishes through the same builders, so both hold byte-identical documents
at equal versions. This module only re-types them for the stages' sink.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from votewire.aggregate.ports import Output
from votewire.core.channels import (
    RaceLine,
    race_channel,
    race_line,
    races_channel,
    region_channel,
    summary_channel,
    turnout_channel,
    turnout_doc,
)
from votewire.core.models import ElectionDefinition
from votewire.core.publication import (
    SPANNING,
    election_publications,
    empty_line,
    encode_lines,
    national_publications,
    races_doc,
    races_doc_bytes,
    region_lines,
    region_publications,
    tally_publications,
)
from votewire.core.publication import (
    published_channels as all_channels,
)
from votewire.core.tally import ElectionTally
from votewire.core.views import NationalView, PartView, RaceView, RegionView

__all__ = [
    "SPANNING",
    "RaceLine",
    "all_channels",
    "election_outputs",
    "empty_line",
    "encode_lines",
    "national_outputs",
    "race_channel",
    "race_line",
    "races_channel",
    "races_doc",
    "races_doc_bytes",
    "region_channel",
    "region_lines",
    "region_outputs",
    "summary_channel",
    "turnout_channel",
    "turnout_doc",
]


def region_outputs(view: RegionView) -> list[Output]:
    """What a region view publishes: `region:E:G` and `turnout:E:G`."""
    return [Output._make(p) for p in region_publications(view)]


def national_outputs(
    definition: ElectionDefinition,
    view: NationalView,
    encoded_lines: Mapping[str, bytes],
) -> list[Output]:
    """What the national view publishes: `summary:E`, `turnout:E` and `races:E`
    (`encoded_lines`: per region heard from, `encode_lines` of its race lines)."""
    return [Output._make(p) for p in national_publications(definition, view, encoded_lines)]


def election_outputs(
    definition: ElectionDefinition,
    race_views: Mapping[str, RaceView],
    unit_views: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    part_views: Mapping[str, Sequence[PartView]] | None = None,
) -> list[Output]:
    """Every document of an election from its newest race views, their units' views and
    spanning races' parts (`election_publications`): what the three stages publish once
    they have folded them."""
    return [
        Output._make(p)
        for p in election_publications(definition, race_views, unit_views, part_views)
    ]


def tally_outputs(tally: ElectionTally) -> list[Output]:
    """`core.publication.tally_publications`, as `Output`s."""
    return [Output._make(p) for p in tally_publications(tally)]
