"""Stages 2 and 3: race views -> region views -> the national view.

`RegionStage` consumes race views keyed by "<election>/<region>" (so one
worker owns a region), and the parts of races spanning regions there
(`RaceUnits.part`, `"part": true`), and folds them with the core's
`RegionRollup`; `NationalStage` consumes region views keyed by "<election>",
and the views of races spanning regions (one-element entries, from stage
1), and folds them with `NationalRollup`. Both follow one pattern:

- input messages are JSON arrays of *snapshots* (whole views with their
  version), never deltas: a stage keeps the newest view per member (race or
  region) and ignores one whose version is not greater than the kept one.
  Re-sent, replayed or out-of-order snapshots therefore never double-count;
- the kept member views are the durable state: the state table (stage 2:
  race -> its view; stage 3: region -> its view and race lines), written on
  the input record's partition. The in-memory rollups are a cache, rebuilt
  from the table on first use;
- after a batch, each changed region (election) is folded once; the region
  stage sends each changed region's view downstream with the lines of the
  races that changed since it was last sent (all of them after `recover`),
  packed per election, and both offer their documents to the Redis writer. Versions are sums of
  member versions: monotonic, and the same on every worker and after any
  restart, so the conditional Redis write is safe;
- every document, turnout series and race list included, is a deterministic
  function of the member views (a restart, a replay or `rebuild` publishes
  the same bytes at the same version);
- `recover(partitions)` (after a rebalance) re-publishes everything owned:
  a crash may have lost a downstream send whose table write survived.
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
    region_outputs,
)
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import (
    Definitions,
    Downstream,
    Record,
    StateTable,
    ViewSink,
    owned_entries,
    pack,
    tag,
    unpack,
    untag,
)
from votewire.core.codec import dumps, loads
from votewire.core.keys import election_key, part_key, race_key, region_key
from votewire.core.models import ElectionDefinition
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.core.views import PartView, RaceView, RegionView

log = logging.getLogger(__name__)


@dataclass
class _Region:
    rollup: RegionRollup
    views: dict[str, RaceView] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    """Version of the part kept, per race spanning regions with precincts here."""
    lines: dict[str, bytes] = field(default_factory=dict)
    """Encoded race line per race heard of."""
    unsent: set[str] = field(default_factory=set)
    """Races whose line changed since the region was last sent downstream."""


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


class _Stage:
    def __init__(
        self, definitions: Definitions, table: StateTable, sink: ViewSink, metrics: Metrics
    ) -> None:
        self.definitions = definitions
        self.table = table
        self.sink = sink
        self.metrics = metrics

    async def _definition(self, election_id: str) -> ElectionDefinition | None:
        found = await self.definitions.of(election_id)
        if found is None:
            self.metrics.count("unknown_election")
            log.error("view for unknown election %r ignored", election_id)
        return found

    def _load(self, key: bytes) -> Any:
        stored = self.table.get(key)
        return loads(untag(stored)[1]) if stored else None

    def _snapshots(self, record: Record, what: str, depth: int = 1) -> list[tuple[Any, bytes]]:
        """The (document, its exact bytes) packed in `record` (`ports.unpack`);
        none if it is malformed."""
        try:
            return unpack(record.value or b"", depth)
        except ValueError:
            pass
        self.metrics.count(f"{what}_bad")
        log.error("undecodable %s message at partition %d ignored", what, record.partition)
        return []


class RegionStage(_Stage):
    """Stage 2 (see the module doc). Input: arrays of `RaceView`."""

    def __init__(
        self,
        definitions: Definitions,
        table: StateTable,
        downstream: Downstream,
        sink: ViewSink,
        metrics: Metrics,
    ) -> None:
        super().__init__(definitions, table, sink, metrics)
        self.downstream = downstream
        self._regions: dict[tuple[str, str], _Region] = {}

    def forget(self) -> None:
        self._regions.clear()

    async def fold_batch(self, records: Sequence[Record]) -> None:
        dirty: dict[tuple[str, str], ElectionDefinition] = {}
        for record in records:
            for view, raw in self._snapshots(record, "race_views"):
                try:
                    changed = await self._put(cast(RaceView, view), raw, record.partition)
                except Exception:
                    log.exception("race view at partition %d ignored", record.partition)
                    self.metrics.count("race_views_bad")
                    continue
                if changed is not None:
                    dirty[(changed.election_id, view["region_id"])] = changed
        await self._publish(sorted(dirty.items()))

    async def recover(self, partitions: set[int]) -> int:
        """Re-publish every region owned in `partitions`; return how many."""
        self.forget()
        owned: dict[tuple[str, str], ElectionDefinition] = {}
        for _, payload in owned_entries(self.table, partitions):
            try:
                view = loads(payload)
                e, g = view["election_id"], view["region_id"]
            except (ValueError, KeyError, TypeError):
                self.metrics.count("recover_errors")
                continue
            definition = owned.get((e, g)) or await self._definition(e)
            if definition is not None and definition.region(g) is not None:
                owned[(e, g)] = definition
        await self._publish(sorted(owned.items()), every_line=True)
        return len(owned)

    async def _put(self, view: RaceView, raw: bytes, partition: int) -> ElectionDefinition | None:
        """Keep `view` (encoded as `raw`) if newer; return the definition if the region changed."""
        definition = await self._definition(view["election_id"])
        if definition is None:
            return None
        if view.get("part"):
            return self._put_part(definition, cast(PartView, view), raw, partition)
        region = self._region(definition, view["region_id"])
        kept = region.views.get(view["race_id"])
        if kept is not None and kept["version"] >= view["version"]:
            self.metrics.count("race_views_not_newer")
            return None
        region.rollup.put(view)
        region.views[view["race_id"]] = view
        region.lines[view["race_id"]] = dumps(race_line(view))
        region.unsent.add(view["race_id"])
        key = race_key(view["election_id"], view["race_id"])
        self.table.put(key, tag(partition, raw), partition)
        return definition

    def _put_part(
        self, definition: ElectionDefinition, part: PartView, raw: bytes, partition: int
    ) -> ElectionDefinition | None:
        region = self._region(definition, part["region_id"])
        if region.parts.get(part["race_id"], -1) >= part["version"]:
            self.metrics.count("race_views_not_newer")
            return None
        region.rollup.put_part(part)  # ValueError for a race with no part here
        region.parts[part["race_id"]] = part["version"]
        key = part_key(part["election_id"], part["race_id"], part["region_id"])
        self.table.put(key, tag(partition, raw), partition)
        return definition

    def _region(self, definition: ElectionDefinition, region_id: str) -> _Region:
        key = (definition.election_id, region_id)
        region = self._regions.get(key)
        if region is not None and region.rollup.definition is definition:
            return region
        region = _Region(RegionRollup(definition, region_id))
        for race in definition.races_in(region_id):
            view = self._load(race_key(definition.election_id, race.race_id))
            if view is not None and view["region_id"] == region_id:
                region.rollup.put(view)
                region.views[race.race_id] = view
                region.lines[race.race_id] = dumps(race_line(view))
        for race in definition.spanning_in(region_id):
            part = self._load(part_key(definition.election_id, race.race_id, region_id))
            if part is not None:
                region.rollup.put_part(part)
                region.parts[race.race_id] = part["version"]
        self._regions[key] = region
        return region

    async def _publish(
        self, regions: list[tuple[tuple[str, str], ElectionDefinition]], every_line: bool = False
    ) -> None:
        """Send each region's view with the lines of its races that changed since it
        was last sent (`every_line`: all it holds), packed per election; offer the
        region's documents to Redis."""
        by_election: dict[bytes, list[bytes]] = {}
        for (e, g), definition in regions:
            region = self._region(definition, g)
            outputs = region_outputs(region.rollup.view())
            sent = region.lines if every_line else region.unsent
            lines = b",".join(region.lines[r.race_id] for r in definition.races_in(g)
                              if r.race_id in sent)  # fmt: skip
            region.unsent.clear()
            entry = b"[%b,[%b]]" % (outputs[0].doc, lines)
            by_election.setdefault(election_key(e), []).append(entry)
            for out in outputs:
                self.sink.offer(*out)
        for key, docs in by_election.items():
            for message in pack(docs):
                await self.downstream.send(key, message)
        self.metrics.count("region_views_published", len(regions))


class NationalStage(_Stage):
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
