"""The Redis channels of an election's views, and the documents replay writes on them.

The channel set and documents are the aggregate's (docs/aggregate.md,
`services.aggregate.channels`), so a replay namespace can be read by the
same live service and compared channel by channel (E = election_id,
G = region_id, R = race_id):

- `race:E:R`      race view, version = the race's version;
- `region:E:G`    region view, version = sum of its races' versions;
- `summary:E`     national view, version = sum of all races' versions;
- `turnout:E`, `turnout:E:G`  the turnout series of the nation / a region;
- `races:E`       one line per race, definition order, version = national.

The shapes are restated here rather than imported because replay must not
depend on a service's internals; `tests/unit/test_view_channels.py` pins
them to the aggregate's builders byte for byte.
"""

from __future__ import annotations

from typing import Any, Literal

from services.core.codec import dumps
from services.core.models import ElectionDefinition
from services.core.tally import ElectionTally
from services.core.views import NationalView, RaceView, RegionView

Scope = Literal["national", "region", "race"]


def race_channel(election_id: str, race_id: str) -> str:
    return f"race:{election_id}:{race_id}"


def region_channel(election_id: str, region_id: str) -> str:
    return f"region:{election_id}:{region_id}"


def summary_channel(election_id: str) -> str:
    return f"summary:{election_id}"


def turnout_channel(election_id: str, region_id: str | None = None) -> str:
    return f"turnout:{election_id}" if region_id is None else f"turnout:{election_id}:{region_id}"


def races_channel(election_id: str) -> str:
    return f"races:{election_id}"


def turnout_doc(view: RegionView | NationalView, region_id: str | None) -> dict[str, Any]:
    """The turnout series of a region (or the nation when `region_id` is None)."""
    return {
        "election_id": view["election_id"],
        "test": view["test"],
        "region_id": region_id,
        "name": view["name"],
        "version": view["version"],
        "registered": view["registered"],
        "precincts_total": view["precincts_total"],
        "turnout_by_mark": view["turnout_by_mark"],
    }


def race_line(view: RaceView) -> dict[str, Any]:
    return {
        "race_id": view["race_id"],
        "name": view["name"],
        "region_id": view["region_id"],
        "status": view["status"],
        "leader": view["leader"],
        "precincts_reporting": view["precincts_reporting"],
        "precincts_total": view["precincts_total"],
        "version": view["version"],
    }


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
