"""What an election publishes: every channel and its document, built from race views.

The one builder of the published document set (docs/aggregate.md, "Channels";
E = election_id, G = region_id, R = race_id). The aggregate's stages and
`rebuild` (through `votewire.aggregate.channels`) and `votewire replay`
(`votewire.replay.view_channels`) all publish through it, so a replay
namespace and the live views hold the same channels, with the same bytes at
the same versions:

- `race:E:R`      the race view, version = the race's version;
- `region:E:G`    the region view, version = sum of its races' versions;
- `turnout:E:G`   the region's turnout series (`turnout_doc`), the region's version;
- `summary:E`     the national view, version = sum of all races' versions;
- `turnout:E`     the national turnout series, the national version;
- `races:E`       one line per race (`race_line`): the races spanning regions
                  first, then region by region, each in definition order; the
                  national version.

A race spanning regions (`region_id` null) counts in the views of the
regions its precincts are in and once in the national view (`core.rollup`):
a region is heard from once a part of such a race there is.

What is published, and when: a channel exists once something was heard of
it. A race is heard from once a report changed it (its view's version is 1
or more); a region once any of its races is; the election once any race is.
Races and regions never heard from have no view, so the live service
answers "empty" (websocket) or 404 `no_view` (REST) for them, exactly as on
the night; `races:E` still lists every race, the unheard ones as
`not_reporting` lines at version 0 (`empty_line`).

Every builder is a pure function of its arguments: equal views give equal
bytes (`votewire.core.codec.dumps`), whatever the order they were folded in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from votewire.core.channels import (
    RaceLine,
    race_channel,
    race_line,
    races_channel,
    region_channel,
    summary_channel,
    turnout_channel,
    turnout_doc,
    unit_channel,
)
from votewire.core.codec import dumps
from votewire.core.models import ElectionDefinition, Race
from votewire.core.race_units import units_of
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.tally import ElectionTally
from votewire.core.views import NationalView, PartView, RaceView, RegionView


class Publication(NamedTuple):
    """One document to publish: its channel, its monotonic version, its JSON bytes."""

    channel: str
    version: int
    doc: bytes


def heard_from(view: RaceView) -> bool:
    """Whether a race view has anything to publish (a report changed the race)."""
    return view["version"] > 0


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


SPANNING = "*"
"""The group of `races:E` that holds the races spanning regions (no region id is "*")."""


def region_lines(
    definition: ElectionDefinition, region_id: str, views: Mapping[str, RaceView]
) -> list[RaceLine]:
    """Lines of the region's races in definition order (`SPANNING`: of the races spanning
    regions); races not in `views` as empty."""
    races = definition.spanning() if region_id == SPANNING else definition.races_in(region_id)
    return [
        race_line(views[race.race_id]) if race.race_id in views else empty_line(race)
        for race in races
    ]


def _groups(definition: ElectionDefinition) -> list[str]:
    """The groups of `races:E` in order: `SPANNING` (if any race spans regions), regions."""
    spanning = [SPANNING] if definition.spanning() else []
    return spanning + [r.region_id for r in definition.regions]


def encode_lines(lines: Sequence[RaceLine]) -> bytes:
    """A region's race lines as the JSON array `races_doc_bytes` splices in."""
    return dumps(lines)


def races_doc(
    definition: ElectionDefinition, version: int, lines: Mapping[str, Sequence[RaceLine]]
) -> dict[str, Any]:
    """`races:E`: the spanning races, then region by region in definition order (groups
    not in `lines`: empty lines; `lines` is keyed by region id and `SPANNING`)."""
    out: list[RaceLine] = []
    for g in _groups(definition):
        found = lines.get(g)
        out.extend(found if found is not None else region_lines(definition, g, {}))
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
    for g in _groups(definition):
        raw = encoded.get(g)
        if raw is None:
            raw = encode_lines(region_lines(definition, g, {}))
        if len(raw) > 2:  # "[]" adds nothing
            parts.append(raw[1:-1])
    return b'{"election_id":%b,"races":[%b],"test":%b,"version":%d}' % (
        dumps(definition.election_id),
        b",".join(parts),
        dumps(definition.test),
        version,
    )


def race_publication(view: RaceView) -> Publication:
    """`race:E:R` of a race view."""
    channel = race_channel(view["election_id"], view["race_id"])
    return Publication(channel, view["version"], dumps(view))


def region_publications(view: RegionView) -> list[Publication]:
    """What a region view publishes: `region:E:G` and `turnout:E:G`."""
    e, g, v = view["election_id"], view["region_id"], view["version"]
    return [
        Publication(region_channel(e, g), v, dumps(view)),
        Publication(turnout_channel(e, g), v, dumps(turnout_doc(view, g))),
    ]


def national_publications(
    definition: ElectionDefinition,
    view: NationalView,
    encoded_lines: Mapping[str, bytes],
) -> list[Publication]:
    """What the national view publishes: `summary:E`, `turnout:E` and `races:E`
    (`encoded_lines`: per region heard from and `SPANNING`, `encode_lines` of its race
    lines)."""
    e, v = definition.election_id, view["version"]
    return [
        Publication(summary_channel(e), v, dumps(view)),
        Publication(turnout_channel(e), v, dumps(turnout_doc(view, None))),
        Publication(races_channel(e), v, races_doc_bytes(definition, v, encoded_lines)),
    ]


def election_publications(
    definition: ElectionDefinition,
    race_views: Mapping[str, RaceView],
    unit_views: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    part_views: Mapping[str, Sequence[PartView]] | None = None,
) -> list[Publication]:
    """Every document of an election, from the newest view of each race (see the module
    doc for what is published): races in definition order (each followed by its
    reporting units' documents from `unit_views`, race_id -> `RaceUnits.view`s), then
    each region heard from, then the national three. `part_views`: race_id -> the
    parts (`RaceUnits.part`) of a race spanning regions. Views of races not in
    `definition`, and views at version 0, are left out."""
    heard = {
        race.race_id: race_views[race.race_id]
        for race in definition.races
        if race.race_id in race_views and heard_from(race_views[race.race_id])
    }
    out: list[Publication] = []
    e = definition.election_id
    for race_id, view in heard.items():
        out.append(race_publication(view))
        for unit in (unit_views or {}).get(race_id, ()):
            channel = unit_channel(e, race_id, unit["level"], unit["unit_id"])
            out.append(Publication(channel, unit["version"], dumps(unit)))
    parts: dict[str, list[PartView]] = {}
    national = NationalRollup(definition)
    for race in definition.spanning():
        if race.race_id in heard:
            national.put_spanning(heard[race.race_id])
            for part in (part_views or {}).get(race.race_id, ()):
                if part["version"] > 0:
                    parts.setdefault(part["region_id"], []).append(part)
    lines: dict[str, bytes] = {}
    for region in definition.regions:
        g = region.region_id
        members = {
            r.race_id: heard[r.race_id] for r in definition.races_in(g) if r.race_id in heard
        }
        if not members and g not in parts:
            continue
        rollup = RegionRollup(definition, g)
        for view in members.values():
            rollup.put(view)
        for part in parts.get(g, ()):
            rollup.put_part(part)
        national.put(rollup.view())
        lines[g] = encode_lines(region_lines(definition, g, members))
        out += region_publications(rollup.view())
    spanning = {r.race_id: heard[r.race_id] for r in definition.spanning() if r.race_id in heard}
    if spanning:
        lines[SPANNING] = encode_lines(region_lines(definition, SPANNING, spanning))
    if lines:
        out += national_publications(definition, national.view(), lines)
    return out


def tally_publications(tally: ElectionTally) -> list[Publication]:
    """`election_publications` of a whole-election fold: its races heard from, the
    units of each that have a result and the parts of spanning races (what the live
    stages publish for the same reports)."""
    heard = {rid: s for rid, s in tally.races.items() if s.version > 0}
    return election_publications(
        tally.definition,
        {rid: s.view() for rid, s in heard.items()},
        {rid: s.unit_views(every=True) for rid, s in heard.items()},
        {rid: s.region_parts(every=True) for rid, s in heard.items()},
    )


def opening_publications(definition: ElectionDefinition) -> list[Publication]:
    """What a loaded election shows before any report: every region's two documents and
    the national three (`summary:E`, `turnout:E`, `races:E` with every race as an
    `empty_line`), all of zero counts, at version 0, so that any view heard from
    (version >= 1) replaces them and a store that skips writes at or below its version
    never lets them replace a real one. No race or unit documents: 2 x regions + 3
    documents whatever the number of races and precincts (`races:E` holds a line per
    race, as on the night). Equal definitions give equal bytes."""
    national = NationalRollup(definition)
    out: list[Publication] = []
    for region in definition.regions:
        view = RegionRollup(definition, region.region_id).view()
        national.put(view)
        out += region_publications(view)
    return out + national_publications(definition, national.view(), {})


def published_channels(definition: ElectionDefinition) -> Iterator[str]:
    """Every channel an election can publish (once all of it was heard from)."""
    e = definition.election_id
    yield summary_channel(e)
    yield races_channel(e)
    yield turnout_channel(e)
    for region in definition.regions:
        yield region_channel(e, region.region_id)
        yield turnout_channel(e, region.region_id)
    for race in definition.races:
        yield race_channel(e, race.race_id)
        units = {u for found in units_of(definition, race).values() for u in found}
        for level, unit_id in sorted(units):
            yield unit_channel(e, race.race_id, level, unit_id)
