"""The Redis channels the aggregate publishes, and the documents on them.

Channel set (E = election_id, G = region_id, R = race_id); see docs/aggregate.md:

- `race:E:R`      the race view (`RaceView`), version = the race's version;
- `region:E:G`    the region view (`RegionView`), version = sum of its races' versions;
- `summary:E`     the national view (`NationalView`), version = sum of all races' versions;
- `turnout:E`     the national turnout series, `turnout:E:G` a region's
                  (`turnout_doc`), version = that of the view they come from;
- `races:E`       one line per race of the election (`race_line`), definition
                  order, version = the national version.

Every builder here is a pure function of views, shared by the live stages
and `rebuild`, so both publish byte-identical documents at equal versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
from votewire.core.codec import dumps
from votewire.core.models import ElectionDefinition, Race
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.views import NationalView, RaceView, RegionView

__all__ = [
    "RaceLine",
    "race_channel",
    "race_line",
    "races_channel",
    "region_channel",
    "summary_channel",
    "turnout_channel",
    "turnout_doc",
]


def empty_line(race: Race) -> RaceLine:
    """`race_line` of a race not heard from (equal to that of its empty view)."""
    return {
        "race_id": race.race_id,
        "name": race.name,
        "region_id": race.region_id,
        "status": "not_reporting",
        "leader": None,
        "precincts_reporting": 0,
        "precincts_total": len(race.precincts),
        "version": 0,
    }


def region_lines(
    definition: ElectionDefinition, region_id: str, views: Mapping[str, RaceView]
) -> list[RaceLine]:
    """Lines of the region's races in definition order; unheard races as empty ones."""
    return [
        race_line(views[race.race_id]) if race.race_id in views else empty_line(race)
        for race in definition.races_in(region_id)
    ]


def encode_lines(lines: Sequence[RaceLine]) -> bytes:
    """A region's race lines as the JSON array `races_doc_bytes` splices in."""
    return dumps(lines)


def races_doc(
    definition: ElectionDefinition, version: int, lines: Mapping[str, Sequence[RaceLine]]
) -> dict[str, Any]:
    """`races:E`: region by region in definition order (regions not heard from: empty)."""
    out: list[RaceLine] = []
    for region in definition.regions:
        found = lines.get(region.region_id)
        out.extend(found if found is not None else region_lines(definition, region.region_id, {}))
    return {
        "election_id": definition.election_id,
        "test": definition.test,
        "version": version,
        "races": out,
    }


def races_doc_bytes(
    definition: ElectionDefinition, version: int, encoded: Mapping[str, bytes]
) -> bytes:
    """`dumps(races_doc(...))`, byte for byte, spliced from each region's encoded
    lines (`encode_lines`): the national stage keeps those per region and does
    not encode every race line again on each publication."""
    parts: list[bytes] = []
    for region in definition.regions:
        raw = encoded.get(region.region_id)
        if raw is None:
            raw = encode_lines(region_lines(definition, region.region_id, {}))
        if len(raw) > 2:  # "[]" adds nothing
            parts.append(raw[1:-1])
    return b'{"election_id":%b,"races":[%b],"test":%b,"version":%d}' % (
        dumps(definition.election_id),
        b",".join(parts),
        dumps(definition.test),
        version,
    )


def region_outputs(view: RegionView) -> list[Output]:
    """What a region view publishes: `region:E:G` and `turnout:E:G`."""
    e, g, v = view["election_id"], view["region_id"], view["version"]
    return [
        Output(region_channel(e, g), v, dumps(view)),
        Output(turnout_channel(e, g), v, dumps(turnout_doc(view, g))),
    ]


def national_outputs(
    definition: ElectionDefinition,
    view: NationalView,
    encoded_lines: Mapping[str, bytes],
) -> list[Output]:
    """What the national view publishes: `summary:E`, `turnout:E` and `races:E`
    (`encoded_lines`: per region heard from, `encode_lines` of its race lines)."""
    e, v = definition.election_id, view["version"]
    return [
        Output(summary_channel(e), v, dumps(view)),
        Output(turnout_channel(e), v, dumps(turnout_doc(view, None))),
        Output(races_channel(e), v, races_doc_bytes(definition, v, encoded_lines)),
    ]


def election_outputs(
    definition: ElectionDefinition, race_views: Mapping[str, RaceView]
) -> list[Output]:
    """Every document of an election from its newest race views (one per race heard of).

    What the three stages publish once they have folded these views; used by
    `rebuild` and by tests. Races and regions never heard of publish nothing."""
    e = definition.election_id
    out = [
        Output(race_channel(e, race_id), view["version"], dumps(view))
        for race_id, view in race_views.items()
    ]
    national = NationalRollup(definition)
    lines: dict[str, bytes] = {}
    for region in definition.regions:
        g = region.region_id
        members = {
            r.race_id: race_views[r.race_id]
            for r in definition.races_in(g)
            if r.race_id in race_views
        }
        if not members:
            continue
        rollup = RegionRollup(definition, g)
        for view in members.values():
            rollup.put(view)
        national.put(rollup.view())
        lines[g] = encode_lines(region_lines(definition, g, members))
        out += region_outputs(rollup.view())
    if lines:
        out += national_outputs(definition, national.view(), lines)
    return out


def all_channels(definition: ElectionDefinition) -> Iterable[str]:
    """Every channel the aggregate publishes for an election."""
    e = definition.election_id
    yield summary_channel(e)
    yield races_channel(e)
    yield turnout_channel(e)
    for region in definition.regions:
        yield region_channel(e, region.region_id)
        yield turnout_channel(e, region.region_id)
    for race in definition.races:
        yield race_channel(e, race.race_id)
