"""The aggregate's outputs: the core's publications (`votewire.core.publication`)
as `ports.Output`, for the stages, `rebuild` and tests.

What an election publishes, and every document on its channels, is built
once, in `votewire.core.publication` (docs/aggregate.md, "Channels"); replay
publishes through the same builders, so both hold byte-identical documents
at equal versions. This module only re-types them for the stages' sink.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from votewire.aggregate.ports import Output
from votewire.core.channels import (
    RaceLine,
    race_channel,
    race_line,
    race_page_channel,
    races_channel,
    region_channel,
    summary_channel,
    turnout_channel,
    turnout_doc,
)
from votewire.core.models import ElectionDefinition
from votewire.core.publication import (
    election_publications,
    empty_line,
    national_publications,
    region_publications,
    tally_publications,
)
from votewire.core.publication import (
    published_channels as all_channels,
)
from votewire.core.race_pages import SPANNING_GROUP, RacePages
from votewire.core.tally import ElectionTally
from votewire.core.views import NationalView, PartView, RaceView, RegionView

__all__ = [
    "SPANNING_GROUP",
    "RaceLine",
    "RacePages",
    "all_channels",
    "election_outputs",
    "empty_line",
    "national_outputs",
    "page_outputs",
    "race_channel",
    "race_line",
    "race_page_channel",
    "races_channel",
    "region_channel",
    "region_outputs",
    "summary_channel",
    "turnout_channel",
    "turnout_doc",
]


def region_outputs(view: RegionView) -> list[Output]:
    """What a region view publishes: `region:E:G` and `turnout:E:G`."""
    return [Output._make(p) for p in region_publications(view)]


def national_outputs(definition: ElectionDefinition, view: NationalView) -> list[Output]:
    """What the national view publishes: `summary:E`, `turnout:E` and the race list's
    index `races:E`."""
    return [Output._make(p) for p in national_publications(definition, view)]


def page_outputs(pages: RacePages, which: Iterable[int]) -> list[Output]:
    """The race-list pages `which` of one group (`core.race_pages`)."""
    return [Output._make(p) for p in pages.publications(list(which))]


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
