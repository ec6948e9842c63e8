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
    SPANNING,
    empty_line,
    national_outputs,
    race_line,
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
from votewire.core.codec import dumps, loads
from votewire.core.keys import race_key, region_key
from votewire.core.models import ElectionDefinition
from votewire.core.rollup import NationalRollup
from votewire.core.views import RaceView, RegionView

log = logging.getLogger(__name__)


@dataclass
class _Nation:
    rollup: NationalRollup
    versions: dict[str, int] = field(default_factory=dict)
    """Version of the region view kept, per region."""
    view_raw: dict[str, bytes] = field(default_factory=dict)
    """The kept region view as received, per region."""
    lines: dict[str, dict[str, tuple[int, bytes]]] = field(default_factory=dict)
    """Per region (and `SPANNING`), per race (definition order): (version, encoded race
    line); races not heard of carry their empty line at version -1."""
    spanning: dict[str, int] = field(default_factory=dict)
    """Version of the view kept, per race spanning regions."""

    def encoded_lines(self) -> dict[str, bytes]:
        """Per region, `channels.encode_lines` of its race lines, spliced."""
        return {
            g: b"[" + b",".join(raw for _, raw in lines.values()) + b"]"
            for g, lines in self.lines.items()
        }


class NationalStage(Stage):
    """Stage 3 (see the module doc). Input: arrays of entries `[RegionView, [RaceLine...]]`
    (the region's view and the lines of its races that changed, from stage 2) and
    `[RaceView]` (a race spanning regions, from stage 1).

    Table: `region_key` -> the newest region view, `race_key` -> the newest line of
    that race, or the newest view of a race spanning regions (by version: re-sent
    entries change nothing). A batch writes the views and the lines that changed in
    it, never a region's whole list of races."""

    def __init__(
        self, definitions: Definitions, table: StateTable, sink: ViewSink, metrics: Metrics
    ) -> None:
        super().__init__(definitions, table, sink, metrics)
        self._nations: dict[str, _Nation] = {}

    def forget(self) -> None:
        self._nations.clear()

    async def fold_batch(self, records: Sequence[Record]) -> None:
        dirty: dict[str, ElectionDefinition] = {}
        changed: dict[tuple[str, str], tuple[int, bool, set[str]]] = {}
        for record in records:
            for entry, _ in self._snapshots(record, "region_views", depth=3):
                if len(entry) == 1:  # a race spanning regions
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
                    found = await self._put(entry)
                except Exception:
                    log.exception("region view at partition %d ignored", record.partition)
                    self.metrics.count("region_views_bad")
                    continue
                if found is not None:
                    definition, g, view_changed, races = found
                    e = definition.election_id
                    dirty[e] = definition
                    _, was_changed, was_races = changed.get((e, g), (0, False, set()))
                    changed[(e, g)] = (record.partition, was_changed or view_changed,
                                       was_races | races)  # fmt: skip
        for (e, g), (partition, view_changed, races) in changed.items():
            nation = self._nation(dirty[e])
            if view_changed:
                self.table.put(region_key(e, g), tag(partition, nation.view_raw[g]), partition)
            for race_id in races:
                raw = nation.lines[g][race_id][1]
                self.table.put(race_key(e, race_id), tag(partition, raw), partition)
        for definition in dirty.values():
            self._publish(definition)

    async def recover(self, partitions: set[int]) -> int:
        """Re-publish every election owned in `partitions`; return how many."""
        self.forget()
        owned = set()
        for _, payload in owned_entries(self.table, partitions):
            found = loads(payload)
            if isinstance(found, dict) and isinstance(found.get("election_id"), str):
                owned.add(found["election_id"])  # region views; lines name no election
        for e in sorted(owned):
            definition = await self._definition(e)
            if definition is not None:
                self._publish(definition)
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
        nation.lines[SPANNING][race.race_id] = (view["version"], dumps(race_line(view)))
        self.table.put(race_key(definition.election_id, race.race_id), tag(partition, raw),
                       partition)  # fmt: skip
        return definition

    async def _put(self, entry: Any) -> tuple[ElectionDefinition, str, bool, set[str]] | None:
        """Keep the entry's region view and race lines that are newer than those kept;
        if anything was kept, return (definition, region, whether the view was, the races
        whose lines were)."""
        (found, view_raw), (lines, _) = entry
        view = cast(RegionView, found)
        e, g = view["election_id"], view["region_id"]
        definition = await self._definition(e)
        if definition is None or definition.region(g) is None:
            return None
        nation = self._nation(definition)
        races = _keep_lines(nation.lines[g], lines)
        view_changed = nation.versions.get(g, -1) < view["version"]
        if view_changed:
            nation.rollup.put(view)
            nation.versions[g] = view["version"]
            nation.view_raw[g] = view_raw
        if not races and not view_changed:
            self.metrics.count("region_views_not_newer")
            return None
        return definition, g, view_changed, races

    def _nation(self, definition: ElectionDefinition) -> _Nation:
        e = definition.election_id
        nation = self._nations.get(e)
        if nation is not None and nation.rollup.definition is definition:
            return nation
        nation = _Nation(NationalRollup(definition))
        if definition.spanning():
            nation.lines[SPANNING] = {
                race.race_id: (-1, dumps(empty_line(race))) for race in definition.spanning()
            }
        for race in definition.spanning():
            stored = self.table.get(race_key(e, race.race_id))
            try:
                if stored:
                    view = cast(RaceView, loads(untag(stored)[1]))
                    nation.rollup.put_spanning(view)
                    nation.spanning[race.race_id] = view["version"]
                    nation.lines[SPANNING][race.race_id] = (view["version"],
                                                            dumps(race_line(view)))  # fmt: skip
            except (ValueError, KeyError, TypeError):
                log.error("spanning race state %s/%s unreadable; ignored", e, race.race_id)
                self.metrics.count("state_unreadable")
        for region in definition.regions:
            g = region.region_id
            kept = nation.lines[g] = {
                race.race_id: (-1, dumps(empty_line(race))) for race in definition.races_in(g)
            }
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
            for race_id in kept:
                line = self.table.get(race_key(e, race_id))
                if line:
                    raw = untag(line)[1]
                    _keep_lines(kept, [(loads(raw), raw)])
        self._nations[e] = nation
        return nation

    def _publish(self, definition: ElectionDefinition) -> None:
        nation = self._nation(definition)
        view = nation.rollup.view()
        for out in national_outputs(definition, view, nation.encoded_lines()):
            self.sink.offer(*out)
        self.metrics.count("national_views_published")


def _keep_lines(kept: dict[str, tuple[int, bytes]], lines: list[tuple[Any, bytes]]) -> set[str]:
    """Keep each (line, bytes) of a race of `kept` that is newer; the races that were."""
    changed = set()
    for line, raw in lines:
        race_id, version = line["race_id"], line["version"]
        if race_id in kept and kept[race_id][0] < version:
            kept[race_id] = (version, raw)
            changed.add(race_id)
    return changed
