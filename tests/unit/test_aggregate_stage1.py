"""Stage 1 with in-memory ports: re-fold on assignment, version floor, dead letters, size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from votewire.aggregate.dead_letters import SHOWN_BYTES, DeadLetters, SizeGuard
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Record
from votewire.core.codec import decode_definition, dumps, report_to_bytes
from votewire.core.keys import election_key, race_key, region_key
from votewire.core.models import ElectionDefinition, Report, ResultReport, TurnoutReport

from tests.unit.builders import definition_dict, race_dict
from tests.unit.test_aggregate_stages import Catalog, ReportsLog, Sink, Topic

AT = datetime(2021, 7, 25, 20, 30, tzinfo=timezone(timedelta(hours=6)))


def national(precincts: int, candidates: int = 6) -> ElectionDefinition:
    """One race over `precincts` precincts (the shape of a presidential election)."""
    race = race_dict(
        "PRES",
        "N",
        [(f"c{i}", f"party{i}") for i in range(candidates)],
        [(f"p{i:06d}", 1000) for i in range(precincts)],
        against_all=True,
        winner_rule="majority",
    )
    return decode_definition(definition_dict(races=[race]))


def result(definition: ElectionDefinition, i: int, revision: int = 1) -> ResultReport:
    race = definition.races[0]
    votes = {c.candidate_id: 10 + (i + k) % 7 for k, c in enumerate(race.candidates)}
    ballots = sum(votes.values()) + 3 + 2
    return ResultReport(f"r{i}-{revision}", definition.election_id, race.race_id,
                        f"p{i:06d}", 1000, ballots, votes, 3, 2, revision, AT)  # fmt: skip


def turnout(definition: ElectionDefinition, i: int, mark: str, ballots: int) -> TurnoutReport:
    race = definition.races[0]
    return TurnoutReport(f"t{i}-{mark}", definition.election_id, race.race_id,
                         f"p{i:06d}", mark, ballots, 1, AT)  # fmt: skip


def record(report: Report, partition: int = 0) -> Record:
    return Record(race_key(report.election_id, report.race_id), report_to_bytes(report), partition)


class Stage1:
    def __init__(self, definition: ElectionDefinition, log: ReportsLog | None = None) -> None:
        self.metrics = Metrics()
        self.sink, self.by_region, self.letters = Sink(), Topic(), Topic()
        self.nation = Topic()
        self.log = log or ReportsLog()
        self.folder = RaceFolder(
            Definitions(Catalog(definition)), self.log, self.sink, self.by_region,
            DeadLetters(self.letters, self.metrics), self.sink, self.metrics,
            to_nation=self.nation,
        )  # fmt: skip

    async def fold(self, records: list[Record]) -> None:
        self.log.records += records
        await self.folder.fold_batch(records)


async def test_a_refold_reaches_the_live_folds_views_and_versions() -> None:
    """A worker taking over re-folds the partition from its start: same view, same version."""
    definition = national(500)
    first = Stage1(definition)
    for start in range(0, 500, 50):
        await first.fold([record(result(definition, i)) for i in range(start, start + 50)])
    second = Stage1(definition, first.log)
    assert await second.folder.recover({0}) == 1
    assert second.sink.docs == first.sink.docs
    assert second.sink.rows == first.sink.rows and len(first.sink.rows) == 500
    assert second.metrics.counters["refolded_reports"] == 500


async def test_a_refold_never_publishes_below_a_published_version() -> None:
    """If readers were shown a higher version (another delivery order), the re-fold's
    view is re-published above it, with the re-folded figures."""
    definition = national(20)
    first = Stage1(definition)
    await first.fold([record(result(definition, i)) for i in range(20)])
    channel = next(iter(first.sink.docs))
    version, doc = first.sink.docs[channel]
    second = Stage1(definition, first.log)
    second.sink.docs[channel] = (version + 5, b"{}")  # what an older owner published
    await second.folder.recover({0})
    found_version, found_doc = second.sink.docs[channel]
    assert found_version == version + 6
    assert json.loads(found_doc)["candidates"] == json.loads(doc)["candidates"]
    assert second.metrics.counters["recover_version_raised"] == 1


async def test_bytes_sent_per_report_do_not_grow_with_the_race() -> None:
    """Each batch sends one race view whose size depends on candidates and marks only:
    the same for a race of 200 precincts as for one of 20,000."""
    sizes = []
    for precincts in (200, 20_000):
        definition = national(precincts)
        stage = Stage1(definition)
        await stage.fold([record(result(definition, i)) for i in range(50)])
        stage.by_region.sent.clear()
        await stage.fold([record(result(definition, i)) for i in range(50, 100)])
        sizes.append(sum(len(v) for _, v in stage.by_region.sent))
    assert abs(sizes[1] - sizes[0]) <= 32  # digits of the totals, not precincts


async def test_an_unfoldable_record_is_dead_lettered_once_in_the_one_schema() -> None:
    """Undecodable and misrouted records: one dead letter each (stage, reason, key),
    not again when a new owner re-folds the partition; the batch's good reports flow."""
    definition = national(10)
    stage = Stage1(definition)
    good = record(result(definition, 1))
    await stage.fold([Record(b"kz-test/PRES", b"[" * 100_000, 0), good,
                      Record(b"other/key", good.value, 0)])  # fmt: skip
    letters = [json.loads(v) for _, v in stage.letters.sent]
    assert [(x["stage"], x["reason"], x["schema"]) for x in letters] == [
        ("aggregate", "undecodable", 1),
        ("aggregate", "misrouted", 1),
    ]
    assert letters[1]["key"] == "other/key" and letters[1]["election_id"] == "kz-test"
    assert stage.metrics.alarms() == {
        "dead_letters": 2, "dead_letters_misrouted": 1, "dead_letters_undecodable": 1,
    }  # fmt: skip
    assert [c for c in stage.sink.docs if c.startswith("race:")] == ["race:kz-test:PRES"]
    again = Stage1(definition, stage.log)
    await again.folder.recover({0})
    assert again.letters.sent == [] and again.metrics.counters["refold_rejected"] == 2


async def test_an_output_over_the_size_limit_is_dead_lettered_and_the_rest_flows() -> None:
    """SizeGuard: a value no broker would take is never sent (the producer would fail and
    the worker crash-loop); it is dead-lettered with its head and counted."""
    metrics = Metrics()
    out, letters = Topic(), Topic()
    guard = SizeGuard(out, "views", DeadLetters(letters, metrics), limit=1000)
    await guard.send(b"e/g", b"x" * 5000)
    await guard.send(b"e/g", b"y" * 1000)
    assert out.sent == [(b"e/g", b"y" * 1000)]
    (key, value), = letters.sent
    letter = json.loads(value)
    assert letter["reason"] == "output_too_large" and letter["key"] == "e/g"
    assert letter["payload"] == "x" * SHOWN_BYTES and key == b"e/g"
    assert metrics.alarms()["outputs_too_large"] == 1


async def test_a_new_definition_revision_refolds_the_race_under_it() -> None:
    """A race's reports survive a new revision of its definition; its version moves on."""
    definition = national(10)
    catalog = Catalog(definition)
    stage = Stage1(definition)
    stage.folder.definitions = Definitions(catalog)
    await stage.fold([record(result(definition, i)) for i in range(5)])
    channel = "race:kz-test:PRES"
    version = stage.sink.docs[channel][0]
    renamed = decode_definition({**json.loads(dumps(definition_dict(races=[
        {**race_dict("PRES", "N", [(f"c{i}", f"party{i}") for i in range(6)],
                     [(f"p{i:06d}", 1000) for i in range(10)], against_all=True,
                     winner_rule="majority"), "name": "President"}])))})  # fmt: skip
    catalog.definition = renamed
    await stage.fold([record(turnout(renamed, 7, "10:00", 100))])
    new_version, doc = stage.sink.docs[channel]
    view = json.loads(doc)
    assert new_version > version and view["name"] == "President"
    assert view["precincts_reporting"] == 5


def test_dead_letter_times_are_utc() -> None:
    """The dead letter's received_at is an aware UTC time (sortable across stages)."""
    letters = DeadLetters(Topic(), Metrics())
    assert letters.clock().tzinfo is UTC


async def test_a_race_spanning_regions_sends_its_parts_to_regions_and_its_view_to_the_nation(
) -> None:
    """A race with region_id null (contract v2): its race, unit and row views are offered;
    each region it has precincts in gets the race's part there (the sums over those
    precincts only), and the national stage gets the race's view, once per batch."""
    obj = definition_dict(races=[race_dict("PRES", "N", [("c0", "a"), ("c1", "b")],
                                           [(f"p{i:06d}", 1000) for i in range(4)])])  # fmt: skip
    obj["races"][0]["region_id"] = None
    for i, precinct in enumerate(obj["races"][0]["precincts"]):
        precinct["region_id"] = "N" if i < 3 else "S"
    definition = decode_definition(obj)
    stage = Stage1(definition)
    reports = [result(definition, i) for i in range(4)]
    await stage.fold([record(r) for r in reports])
    e = definition.election_id
    assert f"race:{e}:PRES" in stage.sink.docs
    assert {c for c in stage.sink.docs if c.startswith(f"unit:{e}:PRES:region.")} == {
        f"unit:{e}:PRES:region.N",
        f"unit:{e}:PRES:region.S",
    }
    assert len(stage.sink.rows) == 4
    parts = {key: json.loads(value) for key, value in stage.by_region.sent}
    assert set(parts) == {region_key(e, "N"), region_key(e, "S")}
    north = parts[region_key(e, "N")][0]
    assert north["part"] is True and north["region_id"] == "N"
    assert north["precincts_total"] == 3 and north["precincts_reporting"] == 3
    assert north["ballots_cast"] == sum(r.ballots_cast for r in reports[:3])
    assert [(key, json.loads(value)) for key, value in stage.nation.sent] == [
        (election_key(e), [[json.loads(stage.sink.docs[f"race:{e}:PRES"][1])]])
    ]
    stage.by_region.sent.clear()
    await stage.fold([record(turnout(definition, 3, "10:00", 50))])
    assert [key for key, _ in stage.by_region.sent] == [region_key(e, "S")]  # only its part
