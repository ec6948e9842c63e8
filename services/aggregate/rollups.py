"""Stages 2 and 3: race views -> region views -> the national view.

Stage 2 (`RegionStage`) and the pattern both follow live here; stage 3
(`NationalStage`) is `votewire.aggregate.national_stage`.

`RegionStage` consumes race views keyed by "<election>/<region>" (so one
worker owns a region), and the parts of races spanning regions there
(`RaceUnits.part`, `"part": true`), and folds them with the core's
`RegionRollup`; `NationalStage` consumes region views keyed by "<election>"
and the views of races spanning regions (from stage 1), each a one-element
entry `[view]`, and folds them with `NationalRollup`. Both follow one
pattern:

- input messages are JSON arrays of *snapshots* (whole views with their
  version), never deltas: a stage keeps the newest view per member (race or
  region) and ignores one whose version is not greater than the kept one.
  Re-sent, replayed or out-of-order snapshots therefore never double-count;
- the kept member views are the durable state: the state table (stage 2:
  race -> its view; stage 3: region -> its view, spanning race -> its
  view), written on the input record's partition. The in-memory rollups are
  a cache, rebuilt from the table on first use;
- after a batch, each changed region (election) is folded once; the region
  stage sends each changed region's view downstream (the view only: no
  race line leaves the region), packed per election, and both offer their
  documents to the Redis writer. Versions are sums of member versions:
  monotonic, and the same on every worker and after any restart, so the
  conditional Redis write is safe;
- the race list is paged (`core.race_pages`): stage 2 publishes the pages
  of its region's race list that a batch changed, each once per batch
  (O(`PAGE_SIZE`) each, whatever the region's size), stage 3 the index
  and the pages of the races spanning regions;
- every document, turnout series and race-list page included, is a
  deterministic function of the member views (a restart, a replay or
  `rebuild` publishes the same bytes at the same version);
- `recover(partitions)` (after a rebalance) re-publishes everything owned:
  a crash may have lost a downstream send whose table write survived.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from votewire.aggregate.channels import RacePages, page_outputs, region_outputs
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
from votewire.core.codec import loads
from votewire.core.keys import election_key, part_key, race_key
from votewire.core.models import ElectionDefinition
from votewire.core.rollup import RegionRollup
from votewire.core.views import PartView, RaceView

log = logging.getLogger(__name__)


@dataclass
class _Region:
    rollup: RegionRollup
    pages: RacePages
    """The region's race-list pages (its own races' lines)."""
    views: dict[str, RaceView] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    """Version of the part kept, per race spanning regions with precincts here."""
    changed: set[int] = field(default_factory=set)
    """Pages with a line changed since the region was last published."""


class Stage:
    """What stages 2 and 3 share: definitions, state table, Redis sink, metrics."""

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


class RegionStage(Stage):
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
        await self._publish(sorted(owned.items()), every_page=True)
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
        region.changed.add(region.pages.put(view))
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
        region = _Region(RegionRollup(definition, region_id), RacePages(definition, region_id))
        for race in definition.races_in(region_id):
            view = self._load(race_key(definition.election_id, race.race_id))
            if view is not None and view["region_id"] == region_id:
                region.rollup.put(view)
                region.views[race.race_id] = view
                region.pages.put(view)
        for race in definition.spanning_in(region_id):
            part = self._load(part_key(definition.election_id, race.race_id, region_id))
            if part is not None:
                region.rollup.put_part(part)
                region.parts[race.race_id] = part["version"]
        self._regions[key] = region
        return region

    async def _publish(
        self, regions: list[tuple[tuple[str, str], ElectionDefinition]], every_page: bool = False
    ) -> None:
        """Send each region's view (a one-element entry `[RegionView]`), packed per
        election; offer the region's documents and the race-list pages that changed
        since it was last published (`every_page`: every page heard from) to Redis."""
        by_election: dict[bytes, list[bytes]] = {}
        for (e, g), definition in regions:
            region = self._region(definition, g)
            outputs = region_outputs(region.rollup.view())
            pages = region.pages.heard() if every_page else sorted(region.changed)
            region.changed.clear()
            by_election.setdefault(election_key(e), []).append(b"[%b]" % outputs[0].doc)
            for out in outputs + page_outputs(region.pages, pages):
                self.sink.offer(*out)
        for key, docs in by_election.items():
            for message in pack(docs):
                await self.downstream.send(key, message)
        self.metrics.count("region_views_published", len(regions))
