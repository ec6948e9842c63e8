"""Stage 3: region views (and views of races spanning regions) -> the national view.

The pattern every stage follows (snapshots, not deltas; newest version kept;
the state table as the durable state; `recover` re-publishes) is stated in
`votewire.aggregate.rollups`, which also holds stage 2.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from votewire.aggregate.channels import (
    SPANNING_GROUP,
    RacePages,
    national_outputs,
    page_outputs,
)
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import (
    Definitions,
    Record,
    StateTable,
    ViewSink,
    owned_entries,
    tag,
    untag,
)
from votewire.aggregate.rollups import Stage
from votewire.core.codec import loads
from votewire.core.keys import race_key, region_key
from votewire.core.models import ElectionDefinition
from votewire.core.rollup import NationalRollup
from votewire.core.views import RaceView, RegionView

log = logging.getLogger(__name__)


@dataclass
class _Nation:
    rollup: NationalRollup
    pages: RacePages | None
    """The race-list pages of the races spanning regions (None: no race spans regions)."""
    versions: dict[str, int] = field(default_factory=dict)
    """Version of the region view kept, per region."""
    view_raw: dict[str, bytes] = field(default_factory=dict)
    """The kept region view as received, per region."""
    spanning: dict[str, int] = field(default_factory=dict)
    """Version of the view kept, per race spanning regions."""
    changed: set[int] = field(default_factory=set)
    """Spanning pages with a line changed since the election was last published."""


class NationalStage(Stage):
    """Stage 3 (see the module doc). Input: arrays of one-element entries: `[RegionView]`
    (from stage 2; an older stage 2's `[RegionView, [RaceLine...]]` is read too, its
    lines ignored) and `[RaceView]` (a race spanning regions, from stage 1).

    Table: `region_key` -> the newest region view, `race_key` -> the newest view of a
    race spanning regions (by version: re-sent entries change nothing). No line of a
    race of a region reaches this stage: stage 2 publishes its region's pages, this
    stage the index (`races:E`, O(regions)) and the spanning group's pages."""

    def __init__(
        self, definitions: Definitions, table: StateTable, sink: ViewSink, metrics: Metrics
    ) -> None:
        super().__init__(definitions, table, sink, metrics)
        self._nations: dict[str, _Nation] = {}

    def forget(self) -> None:
        self._nations.clear()

    async def fold_batch(self, records: Sequence[Record]) -> None:
        dirty: dict[str, ElectionDefinition] = {}
        changed: dict[tuple[str, str], int] = {}
        for record in records:
            for entry, _ in self._snapshots(record, "region_views", depth=2):
                if not isinstance(entry, list) or not entry or not isinstance(entry[0][0], dict):
                    self.metrics.count("region_views_bad")
                    continue
                if "race_id" in entry[0][0]:  # a race spanning regions
                    try:
                        spanning = await self._put_spanning(entry[0], record.partition)
                    except Exception:
                        log.exception("spanning race view at partition %d ignored",
                                      record.partition)  # fmt: skip
                        self.metrics.count("region_views_bad")
                        continue
                    if spanning is not None:
                        dirty[spanning.election_id] = spanning
                    continue
                try:
                    found = await self._put(entry[0])
                except Exception:
                    log.exception("region view at partition %d ignored", record.partition)
                    self.metrics.count("region_views_bad")
                    continue
                if found is not None:
                    definition, g = found
                    dirty[definition.election_id] = definition
                    changed[(definition.election_id, g)] = record.partition
        for (e, g), partition in changed.items():
            nation = self._nation(dirty[e])
            self.table.put(region_key(e, g), tag(partition, nation.view_raw[g]), partition)
        for definition in dirty.values():
            self._publish(definition)

    async def recover(self, partitions: set[int]) -> int:
        """Re-publish every election owned in `partitions`; return how many."""
        self.forget()
        owned = set()
        for _, payload in owned_entries(self.table, partitions):
            found = loads(payload)
            if isinstance(found, dict) and isinstance(found.get("election_id"), str):
                owned.add(found["election_id"])  # region and spanning race views
        for e in sorted(owned):
            definition = await self._definition(e)
            if definition is not None:
                self._publish(definition, every_page=True)
        return len(owned)

    async def _put_spanning(self, found: Any, partition: int) -> ElectionDefinition | None:
        """Keep the view of a race spanning regions if newer (and write it); its
        definition if kept."""
        view, raw = cast(RaceView, found[0]), found[1]
        definition = await self._definition(view["election_id"])
        if definition is None:
            return None
        race = definition.race(view["race_id"])
        if race is None or race.region_id is not None:
            self.metrics.count("region_views_bad")
            return None
        nation = self._nation(definition)
        kept = nation.spanning.get(race.race_id, -1)
        if kept >= view["version"]:
            self.metrics.count("region_views_not_newer")
            return None
        nation.rollup.put_spanning(view)
        nation.spanning[race.race_id] = view["version"]
        if nation.pages is not None:
            nation.changed.add(nation.pages.put(view))
        self.table.put(race_key(definition.election_id, race.race_id), tag(partition, raw),
                       partition)  # fmt: skip
        return definition

    async def _put(self, found: Any) -> tuple[ElectionDefinition, str] | None:
        """Keep the region view (value, bytes) if newer than the one kept; (definition,
        region) if it was."""
        view, view_raw = cast(RegionView, found[0]), found[1]
        e, g = view["election_id"], view["region_id"]
        definition = await self._definition(e)
        if definition is None or definition.region(g) is None:
            return None
        nation = self._nation(definition)
        if nation.versions.get(g, -1) >= view["version"]:
            self.metrics.count("region_views_not_newer")
            return None
        nation.rollup.put(view)
        nation.versions[g] = view["version"]
        nation.view_raw[g] = view_raw
        return definition, g

    def _nation(self, definition: ElectionDefinition) -> _Nation:
        e = definition.election_id
        nation = self._nations.get(e)
        if nation is not None and nation.rollup.definition is definition:
            return nation
        pages = RacePages(definition, SPANNING_GROUP) if definition.spanning() else None
        nation = _Nation(NationalRollup(definition), pages)
        for race in definition.spanning():
            stored = self.table.get(race_key(e, race.race_id))
            try:
                if stored:
                    view = cast(RaceView, loads(untag(stored)[1]))
                    nation.rollup.put_spanning(view)
                    nation.spanning[race.race_id] = view["version"]
                    if pages is not None:
                        pages.put(view)
            except (ValueError, KeyError, TypeError):
                log.error("spanning race state %s/%s unreadable; ignored", e, race.race_id)
                self.metrics.count("state_unreadable")
        for region in definition.regions:
            g = region.region_id
            stored = self.table.get(region_key(e, g))
            try:
                if stored:
                    view_raw = untag(stored)[1]
                    view = cast(RegionView, loads(view_raw))
                    nation.rollup.put(view)
                    nation.versions[g] = view["version"]
                    nation.view_raw[g] = view_raw
            except (ValueError, KeyError, TypeError):
                # State this code cannot read (an older layout, say) must not stop the
                # stage: the region counts as unheard until its next view arrives.
                log.error("region state %s/%s unreadable; ignored", e, g)
                self.metrics.count("state_unreadable")
        self._nations[e] = nation
        return nation

    def _publish(self, definition: ElectionDefinition, every_page: bool = False) -> None:
        """Offer the national documents, and the spanning pages changed since the last
        publication (`every_page`: every one heard from)."""
        nation = self._nation(definition)
        outputs = national_outputs(definition, nation.rollup.view())
        if nation.pages is not None:
            pages = nation.pages.heard() if every_page else sorted(nation.changed)
            nation.changed.clear()
            outputs += page_outputs(nation.pages, pages)
        for out in outputs:
            self.sink.offer(*out)
        self.metrics.count("national_views_published")
