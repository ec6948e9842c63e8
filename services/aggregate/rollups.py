"""Stages 2 and 3: race views -> region views -> the national view.

`RegionStage` consumes race views keyed by "<election>/<region>" (so one
worker owns a region) and folds them with the core's `RegionRollup`;
`NationalStage` consumes region views keyed by "<election>" and folds them
with `NationalRollup`. Both follow one pattern:

- input messages are JSON arrays of *snapshots* (whole views with their
  version), never deltas: a stage keeps the newest view per member (race or
  region) and ignores one whose version is not greater than the kept one.
  Re-sent, replayed or out-of-order snapshots therefore never double-count;
- the kept member views are the durable state: the state table (key = the
  member, value = its view, on the input record's partition). The in-memory
  rollups are a cache, rebuilt from the table on first use;
- after a batch, each changed region (election) is folded once; the region
  stage sends the batch's region views downstream, packed per election, and
  both offer their documents to the Redis writer. Versions are sums of
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

from services.aggregate.channels import (
    empty_line,
    national_outputs,
    race_line,
    region_outputs,
)
from services.aggregate.metrics import Metrics
from services.aggregate.ports import (
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
from services.core.codec import dumps, loads
from services.core.models import ElectionDefinition
from services.core.rollup import NationalRollup, RegionRollup
from services.core.views import RaceView, RegionView

log = logging.getLogger(__name__)


@dataclass
class _Region:
    rollup: RegionRollup
    views: dict[str, RaceView] = field(default_factory=dict)
    lines: dict[str, bytes] = field(default_factory=dict)
    """Encoded race line per race, definition order (empty lines for races not heard of)."""

    def encoded_lines(self) -> bytes:
        """`channels.encode_lines` of the region's race lines, spliced from `lines`."""
        return b"[" + b",".join(self.lines.values()) + b"]"


@dataclass
class _Nation:
    rollup: NationalRollup
    versions: dict[str, int] = field(default_factory=dict)
    lines: dict[str, bytes] = field(default_factory=dict)
    """Per region heard of, its encoded race lines (`channels.encode_lines`)."""


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
        await self._publish(sorted(owned.items()))
        return len(owned)

    async def _put(self, view: RaceView, raw: bytes, partition: int) -> ElectionDefinition | None:
        """Keep `view` (encoded as `raw`) if newer; return the definition if the region changed."""
        definition = await self._definition(view["election_id"])
        if definition is None:
            return None
        region = self._region(definition, view["region_id"])
        kept = region.views.get(view["race_id"])
        if kept is not None and kept["version"] >= view["version"]:
            self.metrics.count("race_views_not_newer")
            return None
        region.rollup.put(view)
        region.views[view["race_id"]] = view
        region.lines[view["race_id"]] = dumps(race_line(view))
        key = f"{view['election_id']}/{view['race_id']}".encode()
        self.table.put(key, tag(partition, raw), partition)
        return definition

    def _region(self, definition: ElectionDefinition, region_id: str) -> _Region:
        key = (definition.election_id, region_id)
        region = self._regions.get(key)
        if region is not None and region.rollup.definition is definition:
            return region
        region = _Region(RegionRollup(definition, region_id))
        for race in definition.races_in(region_id):
            view = self._load(f"{definition.election_id}/{race.race_id}".encode())
            if view is not None and view["region_id"] == region_id:
                region.rollup.put(view)
                region.views[race.race_id] = view
                region.lines[race.race_id] = dumps(race_line(view))
            else:
                region.lines[race.race_id] = dumps(empty_line(race))
        self._regions[key] = region
        return region

    async def _publish(self, regions: list[tuple[tuple[str, str], ElectionDefinition]]) -> None:
        by_election: dict[bytes, list[bytes]] = {}
        for (e, g), definition in regions:
            region = self._region(definition, g)
            outputs = region_outputs(region.rollup.view())
            entry = b"[%b,%b]" % (outputs[0].doc, region.encoded_lines())
            by_election.setdefault(e.encode(), []).append(entry)
            for out in outputs:
                self.sink.offer(*out)
        for key, docs in by_election.items():
            for message in pack(docs):
                await self.downstream.send(key, message)
        self.metrics.count("region_views_published", len(regions))


class NationalStage(_Stage):
    """Stage 3 (see the module doc). Input: arrays of entries `[RegionView, [RaceLine...]]`."""

    def __init__(
        self, definitions: Definitions, table: StateTable, sink: ViewSink, metrics: Metrics
    ) -> None:
        super().__init__(definitions, table, sink, metrics)
        self._nations: dict[str, _Nation] = {}

    def forget(self) -> None:
        self._nations.clear()

    async def fold_batch(self, records: Sequence[Record]) -> None:
        dirty: dict[str, ElectionDefinition] = {}
        for record in records:
            for entry, raw in self._snapshots(record, "region_views", depth=2):
                try:
                    changed = await self._put(entry, raw, record.partition)
                except Exception:
                    log.exception("region view at partition %d ignored", record.partition)
                    self.metrics.count("region_views_bad")
                    continue
                if changed is not None:
                    dirty[changed.election_id] = changed
        for definition in dirty.values():
            self._publish(definition)

    async def recover(self, partitions: set[int]) -> int:
        """Re-publish every election owned in `partitions`; return how many."""
        self.forget()
        owned: set[str] = set()
        for _, payload in owned_entries(self.table, partitions):
            try:
                owned.add(loads(payload)[0]["election_id"])
            except (ValueError, KeyError, TypeError):
                self.metrics.count("recover_errors")
        for e in sorted(owned):
            definition = await self._definition(e)
            if definition is not None:
                self._publish(definition)
        return len(owned)

    async def _put(
        self, entry: list[tuple[Any, bytes]], raw: bytes, partition: int
    ) -> ElectionDefinition | None:
        """Keep the entry (`unpack`ed; encoded as `raw`) if its region view is newer;
        return the definition if it was."""
        (found, _), (_, lines) = entry
        view = cast(RegionView, found)
        e, g = view["election_id"], view["region_id"]
        definition = await self._definition(e)
        if definition is None:
            return None
        nation = self._nation(definition)
        if nation.versions.get(g, -1) >= view["version"]:
            self.metrics.count("region_views_not_newer")
            return None
        nation.rollup.put(view)
        nation.versions[g] = view["version"]
        nation.lines[g] = lines
        self.table.put(f"{e}/{g}".encode(), tag(partition, raw), partition)
        return definition

    def _nation(self, definition: ElectionDefinition) -> _Nation:
        e = definition.election_id
        nation = self._nations.get(e)
        if nation is not None and nation.rollup.definition is definition:
            return nation
        nation = _Nation(NationalRollup(definition))
        for region in definition.regions:
            stored = self.table.get(f"{e}/{region.region_id}".encode())
            if stored:
                (found, _), (_, lines) = unpack(untag(stored)[1])
                view = cast(RegionView, found)
                nation.rollup.put(view)
                nation.versions[region.region_id] = view["version"]
                nation.lines[region.region_id] = lines
        self._nations[e] = nation
        return nation

    def _publish(self, definition: ElectionDefinition) -> None:
        nation = self._nation(definition)
        view = nation.rollup.view()
        for out in national_outputs(definition, view, nation.lines):
            self.sink.offer(*out)
        self.metrics.count("national_views_published")
