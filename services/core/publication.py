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
- `races:E`       the race list's index (`race_pages.index_doc`): its groups
                  (the races spanning regions, then each region) and their
                  page counts; the national version;
- `races:E:G:P`   page P of group G of the race list (`race_pages.RacePages`):
                  at most `race_pages.PAGE_SIZE` lines (`race_line`), in
                  definition order; the sum of its lines' versions.

A race spanning regions (`region_id` null) counts in the views of the
regions its precincts are in and once in the national view (`core.rollup`):
a region is heard from once a part of such a race there is.

What is published, and when: a channel exists once something was heard of
it. A race is heard from once a report changed it (its view's version is 1
or more); a region once any of its races is; the election once any race is.
Races and regions never heard from have no view, so the live service
answers "empty" (websocket) or 404 `no_view` (REST) for them, exactly as on
the night; a page is published once a race on it is heard from, and lists
every race of its slice, the unheard ones as `not_reporting` lines at
version 0 (`empty_line`). (The opening, `opening_publications`, writes
every region, page and national document at version 0 before any report.)

Every builder is a pure function of its arguments: equal views give equal
bytes (`votewire.core.codec.dumps`), whatever the order they were folded in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from votewire.core.channels import (
    Publication,
    empty_line,
    race_channel,
    race_page_channel,
    races_channel,
    region_channel,
    summary_channel,
    turnout_channel,
    turnout_doc,
    unit_channel,
)
from votewire.core.codec import dumps
from votewire.core.models import ElectionDefinition
from votewire.core.race_pages import (
    SPANNING_GROUP,
    RacePages,
    group_races,
    groups,
    index_publication,
    page_count,
)
from votewire.core.race_units import units_of
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.tally import ElectionTally
from votewire.core.views import NationalView, PartView, RaceView, RegionView

__all__ = [
    "SPANNING_GROUP",
    "Publication",
    "election_publications",
    "empty_line",
    "heard_from",
    "national_publications",
    "opening_publications",
    "published_channels",
    "race_publication",
    "region_publications",
    "tally_publications",
]


def heard_from(view: RaceView) -> bool:
    """Whether a race view has anything to publish (a report changed the race)."""
    return view["version"] > 0


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


def national_publications(definition: ElectionDefinition, view: NationalView) -> list[Publication]:
    """What the national view publishes: `summary:E`, `turnout:E` and the race list's
    index `races:E` (`race_pages.index_doc`), all at the national version."""
    e, v = definition.election_id, view["version"]
    return [
        Publication(summary_channel(e), v, dumps(view)),
        Publication(turnout_channel(e), v, dumps(turnout_doc(view, None))),
        index_publication(definition, v),
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
    each region heard from with its race-list pages heard from, then the spanning
    group's pages heard from, then the national three. `part_views`: race_id -> the
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
        out += region_publications(rollup.view())
        out += _heard_pages(definition, g, members.values())
    spanning = [heard[r.race_id] for r in definition.spanning() if r.race_id in heard]
    out += _heard_pages(definition, SPANNING_GROUP, spanning)
    if heard:
        out += national_publications(definition, national.view())
    return out


def _heard_pages(
    definition: ElectionDefinition, group: str, views: Iterable[RaceView]
) -> list[Publication]:
    """The pages of `group` with a race of `views` on them."""
    pages = RacePages(definition, group)
    for view in views:
        pages.put(view)
    return pages.publications(pages.heard())


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
    """What a loaded election shows before any report: every region's two documents,
    every page of the race list (every race an `empty_line`) and the national three
    (`summary:E`, `turnout:E`, the index `races:E`), all of zero counts, at version 0,
    so that any view heard from (version >= 1) replaces them and a store that skips
    writes at or below its version never lets them replace a real one. No race or
    unit documents: 2 x regions + 3 + pages (one per `race_pages.PAGE_SIZE` races)
    documents, none of them growing with the number of races or precincts. Equal
    definitions give equal bytes."""
    national = NationalRollup(definition)
    out: list[Publication] = []
    for region in definition.regions:
        view = RegionRollup(definition, region.region_id).view()
        national.put(view)
        out += region_publications(view)
    for group in groups(definition):
        out += RacePages(definition, group).publications()
    return out + national_publications(definition, national.view())


def published_channels(definition: ElectionDefinition) -> Iterator[str]:
    """Every channel an election can publish (once all of it was heard from)."""
    e = definition.election_id
    yield summary_channel(e)
    yield races_channel(e)
    yield turnout_channel(e)
    for group in groups(definition):
        for page in range(page_count(len(group_races(definition, group)))):
            yield race_page_channel(e, group, page)
    for region in definition.regions:
        yield region_channel(e, region.region_id)
        yield turnout_channel(e, region.region_id)
    for race in definition.races:
        yield race_channel(e, race.race_id)
        units = {u for found in units_of(definition, race).values() for u in found}
        for level, unit_id in sorted(units):
            yield unit_channel(e, race.race_id, level, unit_id)
