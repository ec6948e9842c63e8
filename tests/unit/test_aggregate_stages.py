"""The aggregate's three stages without Kafka or Redis: in-memory ports, the pure fold's views."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from functools import cache

from builders import AT, one_region
from votewire.aggregate.dead_letters import DeadLetters
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.national_stage import NationalStage
from votewire.aggregate.ports import Definitions, Record
from votewire.aggregate.rollups import RegionStage
from votewire.core.codec import report_to_bytes
from votewire.core.models import ElectionDefinition, Report, ResultReport
from votewire.core.race_pages import PAGE_SIZE, RacePages
from votewire.core.scenario import FaultRates, simulate_night
from votewire.core.scenario.national import PRESIDENT, national_definition

from tests.support.aggregate_night import expected_outputs, kz_night, report_key, tally_of


class Table(dict[bytes, bytes]):
    def put(self, key: bytes, value: bytes, partition: int) -> None:
        self[key] = value

    def entries(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(list(self.items()))


class Topic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append((key, value))

    def drain(self) -> list[Record]:
        records = [Record(k, v, 0) for k, v in self.sent]
        self.sent.clear()
        return records


class ReportsLog:
    """The reports topic in memory: what was folded is also what a re-fold reads back."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    async def batches(self, partitions: set[int]) -> AsyncIterator[list[Record]]:
        mine = [r for r in self.records if r.partition in partitions]
        for start in range(0, len(mine), 100):
            yield mine[start : start + 100]


class Sink:
    def __init__(self) -> None:
        self.docs: dict[str, tuple[int, bytes]] = {}
        self.rows: dict[tuple[str, str], bytes] = {}
        self.offers = 0

    def offer_row(self, table: str, key: str, row: bytes) -> None:
        self.rows[(table, key)] = row

    def offer(self, channel: str, version: int, doc: bytes) -> None:
        self.offers += 1
        if channel not in self.docs or self.docs[channel][0] < version:
            self.docs[channel] = (version, doc)

    async def versions(self, channels: Sequence[str]) -> dict[str, int]:
        return {c: self.docs[c][0] for c in channels if c in self.docs}


class Catalog:
    def __init__(self, definition: ElectionDefinition) -> None:
        self.definition = definition

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self.definition if election_id == self.definition.election_id else None

    async def wait_for(self, election_id: str, timeout_s: float) -> ElectionDefinition | None:
        return self.get(election_id)


class Pipeline:
    """Stage 1 -> 2 -> 3 wired with in-memory ports; `run` pushes batches through all three."""

    def __init__(self, definition: ElectionDefinition, log: ReportsLog | None = None) -> None:
        definitions = Definitions(Catalog(definition))
        self.sink, self.metrics = Sink(), Metrics()
        self.by_region, self.by_election, self.letters = Topic(), Topic(), Topic()
        self.log = log or ReportsLog()
        self.tables = (Table(), Table())
        self.folder = RaceFolder(
            definitions, self.log, self.sink, self.by_region,
            DeadLetters(self.letters, self.metrics), self.sink, self.metrics,
            to_nation=self.by_election,
        )  # fmt: skip
        self.regions = RegionStage(
            definitions, self.tables[0], self.by_election, self.sink, self.metrics
        )
        self.nation = NationalStage(definitions, self.tables[1], self.sink, self.metrics)

    async def run(self, reports: list[Report], batch: int = 50) -> None:
        for start in range(0, len(reports), batch):
            chunk = [Record(report_key(r), report_to_bytes(r), 0)
                     for r in reports[start : start + batch]]  # fmt: skip
            self.log.records += chunk
            await self.folder.fold_batch(chunk)
            await self.drain()

    async def drain(self) -> None:
        await self.regions.fold_batch(self.by_region.drain())
        await self.nation.fold_batch(self.by_election.drain())


@cache
def whole_night() -> tuple[ElectionDefinition, list[Report]]:
    return kz_night(FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05))


def night(share: float) -> tuple[ElectionDefinition, list[Report]]:
    """The first `share` of the kz-2021 night with faults (duplicates, corrections, reorder)."""
    definition, reports = whole_night()
    return definition, reports[: int(len(reports) * share)]


async def test_three_stages_publish_exactly_the_pure_folds_documents() -> None:
    """Race, region, national, turnout and race-list documents equal ElectionTally's."""
    definition, reports = night(0.25)
    pipeline = Pipeline(definition)
    await pipeline.run(reports)
    assert pipeline.sink.docs == expected_outputs(tally_of(definition, reports))


@cache
def national_night() -> tuple[ElectionDefinition, list[Report]]:
    """A national night of 400 stations: `president` spans the 14 regions."""
    definition = national_definition(400, 14, seed=7)
    faults = FaultRates(duplicates=0.05, corrections=0.05, reorder=0.05)
    night = simulate_night(definition, seed=7, faults=faults)
    return definition, [e.payload for e in night if not isinstance(e.payload, dict)]


async def test_a_race_spanning_regions_counts_where_its_precincts_are() -> None:
    """The national night through the three stages: every document, the region views
    counting the presidential race's parts included, equals the pure fold's, at every
    step; and each region's figures add up to the races in it and its part of the
    president's."""
    definition, reports = national_night()
    assert definition.race(PRESIDENT).region_id is None  # type: ignore[union-attr]
    pipeline = Pipeline(definition)
    half = len(reports) // 2
    await pipeline.run(reports[:half], batch=40)
    assert pipeline.sink.docs == expected_outputs(tally_of(definition, reports[:half]))
    await pipeline.run(reports[half:], batch=40)
    tally = tally_of(definition, reports)
    assert pipeline.sink.docs == expected_outputs(tally)
    e = definition.election_id
    president = tally.races[PRESIDENT]
    for region in definition.regions:
        g = region.region_id
        view = json.loads(pipeline.sink.docs[f"region:{e}:{g}"][1])
        own = [tally.race_view(r.race_id) for r in definition.races_in(g)]
        unit = president.unit_views(every=True)
        part = next(u for u in unit if u["level"] == "region" and u["unit_id"] == g)
        assert view["ballots_cast"] == sum(v["ballots_cast"] for v in own) + part["ballots_cast"]
        assert view["races_total"] == len(own)
    national = json.loads(pipeline.sink.docs[f"summary:{e}"][1])
    assert national["races_total"] == len(definition.races)
    assert national["ballots_cast"] == sum(v.view()["ballots_cast"] for v in tally.races.values())
    assert national["outcomes"] == tally.national_view()["outcomes"]
    index = json.loads(pipeline.sink.docs[f"races:{e}"][1])
    assert index["groups"][0] == {
        "group": "-", "region_id": None, "name": "Races spanning regions", "races": 1, "pages": 1
    }  # fmt: skip
    regions = [g["region_id"] for g in index["groups"][1:]]
    assert regions == [r.region_id for r in definition.regions]
    races = json.loads(pipeline.sink.docs[f"races:{e}:-:0"][1])["races"]
    assert races[0]["race_id"] == PRESIDENT and races[0]["region_id"] is None


async def test_a_spanning_race_survives_a_takeover_of_every_stage() -> None:
    """Stages 2 and 3 restarted from their tables, stage 1 re-folded: the same documents."""
    definition, reports = national_night()
    pipeline = Pipeline(definition)
    await pipeline.run(reports, batch=60)
    expected = dict(pipeline.sink.docs)
    fresh = Pipeline(definition, pipeline.log)
    fresh.tables = pipeline.tables
    fresh.regions.table, fresh.nation.table = pipeline.tables
    await fresh.folder.recover({0})
    await fresh.regions.recover({0})
    await fresh.nation.recover({0})
    await fresh.drain()
    assert fresh.sink.docs == expected


async def test_redelivered_batches_and_resent_snapshots_change_nothing() -> None:
    """At-least-once: every report folded twice and every snapshot re-sent, same documents."""
    definition, reports = night(0.15)
    pipeline = Pipeline(definition)
    await pipeline.run(reports)
    expected = dict(pipeline.sink.docs)
    applied = pipeline.metrics.counters["reports_applied"]
    await pipeline.run(reports, batch=37)  # the whole night re-delivered, other batching
    assert pipeline.metrics.counters["reports_applied"] == applied
    await pipeline.folder.recover({0})  # stage 1 re-sends every race view
    await pipeline.drain()
    await pipeline.regions.recover({0})
    await pipeline.drain()
    assert pipeline.sink.docs == expected
    assert pipeline.metrics.counters["race_views_not_newer"] > 0


async def test_recovery_refolds_the_reports_log_and_republishes_every_view() -> None:
    """A new worker with only the reports log and the stage tables (no caches, empty Redis)
    re-folds stage 1 from the log and offers every view, versions included."""
    definition, reports = night(0.15)
    first = Pipeline(definition)
    await first.run(reports)
    second = Pipeline(definition, first.log)
    second.tables = first.tables
    second.regions.table, second.nation.table = first.tables
    assert await second.folder.recover({0}) == len(
        [c for c in first.sink.docs if c.startswith("race:")]
    )
    await second.regions.recover({0})
    await second.drain()
    await second.nation.recover({0})
    assert second.sink.docs == first.sink.docs
    assert await second.folder.recover({1}) == 0  # reports of other partitions are not folded


async def test_out_of_order_snapshots_never_move_a_region_backwards() -> None:
    """Race views arriving shuffled (old after new) leave the newest in every region."""
    definition, reports = night(0.15)
    pipeline = Pipeline(definition)
    for start in range(0, len(reports), 50):
        chunk = reports[start : start + 50]
        await pipeline.folder.fold_batch(
            [Record(report_key(r), report_to_bytes(r), 0) for r in chunk]
        )
    messages = pipeline.by_region.drain()
    random.Random(7).shuffle(messages)
    await pipeline.regions.fold_batch(messages)
    await pipeline.nation.fold_batch(pipeline.by_election.drain())
    assert pipeline.sink.docs == expected_outputs(tally_of(definition, reports))


def one_result_per_race(definition: ElectionDefinition, seed: int) -> list[Report]:
    """A result for P1 of every race, in a shuffled order (batches touch many pages)."""
    e = definition.election_id
    votes = {"A": 40, "B": 20}
    reports: list[Report] = [
        ResultReport(f"r-{r.race_id}", e, r.race_id, "P1", 100, 60, votes, 0, 0, 1, AT)
        for r in definition.races
    ]
    random.Random(seed).shuffle(reports)
    return reports


class Recorder:
    """What a pipeline's stages offer to Redis and send from stage 2 to stage 3."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.offered: list[tuple[str, int]] = []
        self.sent: list[int] = []
        self._offer, self._send = pipeline.sink.offer, pipeline.by_election.send
        pipeline.sink.offer = self.offer  # type: ignore[method-assign]
        pipeline.by_election.send = self.send  # type: ignore[method-assign]

    def offer(self, channel: str, version: int, doc: bytes) -> None:
        self.offered.append((channel, len(doc)))
        self._offer(channel, version, doc)

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append(len(value))
        await self._send(key, value)


async def wide_region_night(races: int) -> tuple[int, int]:
    """One result per race of `one_region(races)` through the stages in batches of 250;
    (the largest region, national or race-list document, the largest stage 2 -> 3
    message). Asserts that each batch offers exactly the pages of its races, once each,
    and that the documents are the pure fold's."""
    definition = one_region(races)
    pipeline = Pipeline(definition)
    recorder = Recorder(pipeline)
    reports = one_result_per_race(definition, seed=races)
    e = definition.election_id
    index = {r.race_id: i for i, r in enumerate(definition.races)}
    largest = 0
    for start in range(0, len(reports), 250):
        batch = reports[start : start + 250]
        recorder.offered.clear()
        await pipeline.run(batch, batch=250)
        pages = [c for c, _ in recorder.offered if c.startswith("races:") and c.count(":") == 3]
        assert sorted(pages) == sorted(
            {f"races:{e}:N:{index[r.race_id] // PAGE_SIZE}" for r in batch}
        )
        rolled = [n for c, n in recorder.offered if not c.startswith(("race:", "unit:"))]
        largest = max(largest, *rolled)
    assert pipeline.sink.docs == expected_outputs(tally_of(definition, reports))
    return largest, max(recorder.sent)


async def test_no_output_of_stages_2_and_3_grows_with_the_races_of_a_region() -> None:
    """1 region x 5,000 races against 1 x 250, one result per race in shuffled batches of
    250: the largest document stages 2 and 3 publish (race-list pages and index
    included) is at most a page of PAGE_SIZE lines, the largest message from stage 2 to
    stage 3 of the same size; a batch offers each page with a changed race once, and no
    other page; the documents are the pure fold's."""
    small, big = await wide_region_night(250), await wide_region_night(5000)
    # A page of PAGE_SIZE unheard lines is the longest (a heard line is shorter).
    ceiling = len(RacePages(one_region(PAGE_SIZE), "N").publication(0).doc) + 16
    assert small[0] <= ceiling and big[0] <= ceiling
    assert big[1] <= small[1] + 16  # digits of larger sums
