"""The race list of an election, paged: an index of groups, and pages of race lines.

No document of the race list grows with the number of races (it was one
document with a line per race: 162 KB for kz-2021's 730 races):

- `races:E`, the *index* (`index_doc`), O(regions):
  `{election_id, test, version, page_size, races_total, groups}`, each group
  `{group, region_id, name, races, pages}`, in order: `SPANNING_GROUP` (the
  races spanning regions, `region_id` null) if any race spans regions, then
  every region in definition order (one with no race of its own too: 0
  races, 0 pages). Its version is the national version (`summary:E`'s).
- `races:E:G:P`, *page* P (from 0) of group G (`RacePages`):
  `{election_id, test, group, region_id, page, pages, version, races}`: the
  group's races P x PAGE_SIZE onwards in definition order, at most
  PAGE_SIZE lines (`channels.race_line`; a race not heard from as its
  `channels.empty_line`). Its version is the sum of its lines' versions, so
  it grows whenever a line changes and never goes back.

G is the region id, or `SPANNING_GROUP` ("-"), which the definition decoder
refuses as a region id (`definition_decoder.RESERVED_REGION_ID`). Where a
race is listed (group and page) follows from the definition alone, so a
changed race touches its one page and no reader needs another to find it.

What is published (`publication`): a page once a race on it was heard from
(version >= 1), the index with the national documents; an election's
opening writes the index and every page at version 0. The aggregate's
stage 2 publishes the pages of its region, stage 3 the index and the
spanning group's pages; the pure fold builds the same bytes from the same
lines, whatever the order they were put in.
"""

from __future__ import annotations

from typing import Any

from votewire.core.channels import (
    Publication,
    empty_line,
    race_line,
    race_page_channel,
    races_channel,
)
from votewire.core.codec import dumps
from votewire.core.definition_decoder import RESERVED_REGION_ID
from votewire.core.models import ElectionDefinition, Race
from votewire.core.views import RaceView

PAGE_SIZE = 100
"""Race lines per page (the last page of a group holds the rest)."""

SPANNING_GROUP = RESERVED_REGION_ID
"""The group of the races spanning regions (no region's id)."""

SPANNING_NAME = "Races spanning regions"
"""The index's `name` of `SPANNING_GROUP`."""


def page_count(races: int) -> int:
    """Pages of a group of `races` races (0 for none)."""
    return -(-races // PAGE_SIZE)


def groups(definition: ElectionDefinition) -> list[str]:
    """The groups of the race list in order: `SPANNING_GROUP` if any race spans regions,
    then every region in definition order."""
    spanning = [SPANNING_GROUP] if definition.spanning() else []
    return spanning + [r.region_id for r in definition.regions]


def group_races(definition: ElectionDefinition, group: str) -> tuple[Race, ...]:
    """The races of `group` in definition order (`SPANNING_GROUP`: those spanning regions)."""
    return definition.spanning() if group == SPANNING_GROUP else definition.races_in(group)


def group_of(race: Race) -> str:
    """The group listing `race`."""
    return SPANNING_GROUP if race.region_id is None else race.region_id


def index_doc(definition: ElectionDefinition, version: int) -> dict[str, Any]:
    """`races:E` at `version` (see the module doc)."""
    out = []
    for g in groups(definition):
        region = definition.region(g)
        races = len(group_races(definition, g))
        out.append({
            "group": g,
            "region_id": None if region is None else g,
            "name": SPANNING_NAME if region is None else region.name,
            "races": races,
            "pages": page_count(races),
        })  # fmt: skip
    return {
        "election_id": definition.election_id,
        "test": definition.test,
        "version": version,
        "page_size": PAGE_SIZE,
        "races_total": len(definition.races),
        "groups": out,
    }


def index_publication(definition: ElectionDefinition, version: int) -> Publication:
    """`races:E` at `version`, encoded."""
    channel = races_channel(definition.election_id)
    return Publication(channel, version, dumps(index_doc(definition, version)))


class RacePages:
    """The lines of one group's races, and its pages.

    `put` replaces a race's line (encoded once, there) and answers its page:
    O(1), whatever the group's size. `publication(page)` builds one page,
    O(PAGE_SIZE), spliced from the encoded lines; its bytes are
    `dumps` of the page document (a unit test holds them to that). A race
    never put is listed as its empty line at version 0. Not thread-safe;
    do not share between stages."""

    def __init__(self, definition: ElectionDefinition, group: str) -> None:
        if group != SPANNING_GROUP and definition.region(group) is None:
            raise ValueError(f"unknown region {group!r}")
        self.definition = definition
        self.group = group
        self.races = group_races(definition, group)
        self.pages = page_count(len(self.races))
        self._page = {race.race_id: i // PAGE_SIZE for i, race in enumerate(self.races)}
        self._lines: dict[str, tuple[int, bytes]] = {}
        """Race id -> (version, encoded line) of the races put."""
        self._versions = [0] * self.pages
        self._head = b'{"election_id":%b,"group":%b,"page":' % (
            dumps(definition.election_id),
            dumps(group),
        )
        self._tail = b',"region_id":%b,"test":%b,"version":' % (
            dumps(None if group == SPANNING_GROUP else group),
            dumps(definition.test),
        )

    def page_of(self, race_id: str) -> int | None:
        """The page listing `race_id`; None if it is not in this group."""
        return self._page.get(race_id)

    def put(self, view: RaceView) -> int:
        """Replace the line of `view["race_id"]` (a race of this group); its page.
        `ValueError` for a race of another group."""
        race_id = view["race_id"]
        page = self._page.get(race_id)
        if page is None:
            raise ValueError(f"race {race_id!r} is not in group {self.group!r}")
        old = self._lines.get(race_id)
        self._versions[page] += view["version"] - (old[0] if old is not None else 0)
        self._lines[race_id] = (view["version"], dumps(race_line(view)))
        return page

    def version(self, page: int) -> int:
        """The page's version: the sum of its lines' versions."""
        return self._versions[page]

    def heard(self) -> list[int]:
        """The pages with a race heard from (version >= 1), in order."""
        return [p for p, version in enumerate(self._versions) if version > 0]

    def publication(self, page: int) -> Publication:
        """`races:E:G:P` of page `page` (`IndexError` past the last)."""
        if not 0 <= page < self.pages:
            raise IndexError(f"group {self.group!r} has {self.pages} pages")
        lines = []
        for race in self.races[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
            found = self._lines.get(race.race_id)
            lines.append(found[1] if found is not None else dumps(empty_line(race)))
        version = self._versions[page]
        doc = b'%b%d,"pages":%d,"races":[%b]%b%d}' % (
            self._head,
            page,
            self.pages,
            b",".join(lines),
            self._tail,
            version,
        )
        channel = race_page_channel(self.definition.election_id, self.group, page)
        return Publication(channel, version, doc)

    def publications(self, pages: list[int] | None = None) -> list[Publication]:
        """`publication` of each of `pages` (None: every page, heard from or not)."""
        return [self.publication(p) for p in (range(self.pages) if pages is None else pages)]
