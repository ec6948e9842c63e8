"""Channel names of the published views, and the small documents derived from views.

Every place that writes or reads views by channel (the aggregate's stages and
`rebuild`, replay namespaces, the live service, tests) names channels and
builds these documents here, so they are byte-identical wherever they come
from (E = election_id, G = region_id, R = race_id):

- `race:E:R`, `region:E:G`, `summary:E`: the race, region and national views;
- `turnout:E`, `turnout:E:G`: the turnout series of the nation / a region;
- `races:E`: the index of the race list's pages, `races:E:G:P`: page P of
  group G of the race list, one line per race (`race_line`; `core.race_pages`);
- `unit:E:R:L.U`: race R's totals in reporting unit U of level L (`region` or
  `district`; `race_units.RaceUnits.view`).
- `anomalies:E`: the election's anomaly feed, one anomaly per change
  (`votewire.core.anomaly`, infra/anomaly_feed.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from votewire.core.models import Race
from votewire.core.views import NationalView, RaceView, RegionView

RaceLine = dict[str, Any]


class Publication(NamedTuple):
    """One document to publish: its channel, its monotonic version, its JSON bytes."""

    channel: str
    version: int
    doc: bytes


def race_channel(election_id: str, race_id: str) -> str:
    return f"race:{election_id}:{race_id}"


def region_channel(election_id: str, region_id: str) -> str:
    return f"region:{election_id}:{region_id}"


def summary_channel(election_id: str) -> str:
    return f"summary:{election_id}"


def turnout_channel(election_id: str, region_id: str | None = None) -> str:
    return f"turnout:{election_id}" if region_id is None else f"turnout:{election_id}:{region_id}"


def races_channel(election_id: str) -> str:
    """The index of the election's race list (`core.race_pages`)."""
    return f"races:{election_id}"


def race_page_channel(election_id: str, group: str, page: int) -> str:
    """Page `page` (from 0) of group `group` (a region id, or `race_pages.SPANNING_GROUP`)
    of the election's race list."""
    return f"races:{election_id}:{group}:{page}"


def unit_channel(election_id: str, race_id: str, level: str, unit_id: str) -> str:
    return f"unit:{election_id}:{race_id}:{level}.{unit_id}"


def unit_prefix(election_id: str, race_id: str, level: str) -> str:
    """What every `unit_channel` of the race at `level` starts with."""
    return f"unit:{election_id}:{race_id}:{level}."


def anomalies_channel(election_id: str) -> str:
    return f"anomalies:{election_id}"


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


def _call_type(view: RaceView) -> str | None:
    call = view.get("call")  # absent from views published before race calls
    return call["type"] if call else None


def race_line(view: RaceView) -> RaceLine:
    """One race's line in its page of the race list (`races:E:G:P`)."""
    return {
        "race_id": view["race_id"],
        "name": view["name"],
        "region_id": view["region_id"],
        "status": view["status"],
        "leader": view["leader"],
        "call": _call_type(view),
        "precincts_reporting": view["precincts_reporting"],
        "precincts_total": view["precincts_total"],
        "version": view["version"],
    }


def empty_line(race: Race) -> RaceLine:
    """`race_line` of a race not heard from (equal to that of its empty view)."""
    return {
        "race_id": race.race_id,
        "name": race.name,
        "region_id": race.region_id,
        "status": "not_reporting",
        "leader": None,
        "call": None,
        "precincts_reporting": 0,
        "precincts_total": len(race.precincts),
        "version": 0,
    }
