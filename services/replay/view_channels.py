"""The Redis channels of an election's views, and the documents replay writes on them.

The channel set and documents are the aggregate's (docs/aggregate.md,
`votewire.aggregate.channels`), so a replay namespace can be read by the
same live service and compared channel by channel (E = election_id,
G = region_id, R = race_id):

- `race:E:R`      race view, version = the race's version;
- `region:E:G`    region view, version = sum of its races' versions;
- `summary:E`     national view, version = sum of all races' versions;
- `turnout:E`, `turnout:E:G`  the turnout series of the nation / a region;
- `races:E`       one line per race, definition order, version = national.

Channel names and the derived documents come from `votewire.core.channels`,
shared with the aggregate; `tests/unit/test_view_channels.py` pins the whole
document set to the aggregate's builders byte for byte.
"""

from __future__ import annotations

from typing import Any, Literal

from votewire.core.channels import (
    race_channel,
    race_line,
    races_channel,
    region_channel,
    summary_channel,
    turnout_channel,
    turnout_doc,
)
from votewire.core.codec import dumps
from votewire.core.models import ElectionDefinition
from votewire.core.tally import ElectionTally

Scope = Literal["national", "region", "race"]


def view_documents(tally: ElectionTally) -> list[tuple[str, int, bytes]]:
    """(channel, version, document) of every view of the tally, for `put_views`."""
    views = tally.views()
    definition = tally.definition
    e = definition.election_id
    national = views["national"]
    out: list[tuple[str, int, bytes]] = []
    for race in definition.races:
        view = views["races"][race.race_id]
        out.append((race_channel(e, race.race_id), view["version"], dumps(view)))
    for region in definition.regions:
        rv = views["regions"][region.region_id]
        g = region.region_id
        out.append((region_channel(e, g), rv["version"], dumps(rv)))
        out.append((turnout_channel(e, g), rv["version"], dumps(turnout_doc(rv, g))))
    v = national["version"]
    lines = [race_line(views["races"][race.race_id]) for race in _in_region_order(definition)]
    races_doc = {"election_id": e, "test": definition.test, "version": v, "races": lines}
    out.append((summary_channel(e), v, dumps(national)))
    out.append((races_channel(e), v, dumps(races_doc)))
    out.append((turnout_channel(e), v, dumps(turnout_doc(national, None))))
    return out


def _in_region_order(definition: ElectionDefinition) -> list[Any]:
    """Races region by region (definition order of regions, then of races)."""
    return [race for region in definition.regions for race in definition.races_in(region.region_id)]


def view_channels(definition: ElectionDefinition) -> list[tuple[Scope, str | None, str]]:
    """(scope, id, channel) of the views an audit compares: nation, regions, races."""
    e = definition.election_id
    out: list[tuple[Scope, str | None, str]] = [("national", None, summary_channel(e))]
    out += [("region", r.region_id, region_channel(e, r.region_id)) for r in definition.regions]
    out += [("race", r.race_id, race_channel(e, r.race_id)) for r in definition.races]
    return out
