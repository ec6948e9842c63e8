"""Anomalies in memory: stable ids from flags and dead letters, the writer's dedupe and
retries, stage 1 and the dead-letter follower feeding one feed once per anomaly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from votewire.aggregate.anomalies import DeadLetterFollower
from votewire.aggregate.dead_letters import DeadLetters
from votewire.aggregate.folder import RaceFolder
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Record
from votewire.core.anomaly import dead_letter_anomaly, flag_anomaly, read_dead_letter
from votewire.core.codec import dumps, report_to_bytes
from votewire.core.dead_letter import dead_letter_record
from votewire.core.keys import race_key
from votewire.core.race_call import RaceCall, call_to_bytes
from votewire.core.race_state import RaceState
from votewire.core.report_headers import credential_headers
from votewire.infra.anomaly_feed import Appended, MemoryAnomalyFeed
from votewire.infra.anomaly_writer import AnomalyWriter

from tests.support.polling import eventually
from tests.unit.builders import AT, ELECTION, reference, result, turnout
from tests.unit.test_aggregate_stages import Catalog, ReportsLog, Sink, Topic


def raised(events: list[Any]) -> list[dict[str, Any]]:
    """The anomalies a fresh N1 state raises folding `events` in order."""
    state = RaceState(reference(), "N1")
    return [flag_anomaly(reference(), f, e) for e in events for f in state.apply(e).flags]


def test_a_flag_becomes_an_anomaly_naming_precinct_what_and_when() -> None:
    """A falling turnout names the race, precinct (by name too), mark, figures and time."""
    (found,) = raised([turnout("N1", "P1", "10:00", 300), turnout("N1", "P1", "12:00", 250)])
    assert found["code"] == "turnout_decreased" and found["source"] == "flag"
    assert (found["race_name"], found["precinct_name"], found["region_id"]) == (
        "Race N1", "Precinct P1", "N",
    )  # fmt: skip
    assert found["mark"] == "12:00" and found["at"] == AT.isoformat()
    assert found["message"] == "Turnout fell from 300 at 10:00 to 250 at 12:00"
    assert dumps(found)  # JSON-ready


def test_a_refold_raises_the_same_anomaly_ids() -> None:
    """Folding the same reports again (a re-fold) gives the same ids; a conflict seen
    from either side is one anomaly."""
    a = result("N1", "P1", {"A": 10}, report_id="x")
    b = result("N1", "P1", {"A": 11}, report_id="y")
    first, second = raised([a, b]), raised([a, b])
    assert [x["anomaly_id"] for x in first] == [x["anomaly_id"] for x in second]
    (forward,), (backward,) = raised([a, b]), raised([b, a])
    assert forward["code"] == backward["code"] == "revision_conflict"
    assert forward["anomaly_id"] == backward["anomaly_id"]


def test_a_call_disagreement_names_who_called_it() -> None:
    """`call_disagrees` is sent by the caller's credential and dated by the call."""
    call = RaceCall("c9", ELECTION, "N1", "winner", ("B",), AT, "desk-almaty")
    found = raised([call, result("N1", "P1", {"A": 9}), result("N1", "P2", {"A": 9})])
    (disagreement,) = found
    assert disagreement["code"] == "call_disagrees" and disagreement["sender"] == "desk-almaty"
    assert disagreement["precinct_id"] is None
    assert disagreement["message"] == (
        "Called winner Candidate B by desk-almaty, but the complete count gives winner Candidate A"
    )


def letter(received: datetime, payload: str, election: str | None = ELECTION) -> bytes:
    problems = [{"code": "sum_mismatch", "field": "ballots_cast", "message": "761 != 760"}]
    _, value = dead_letter_record(
        "ingest", received, problems, payload, election_id=election, report_id="r-7",
        sender={"credential_id": "commission-p1", "via": "http", "peer": "10.0.0.1"},
    )  # fmt: skip
    return value


def test_a_dead_letter_becomes_an_anomaly_and_a_repeat_is_the_same_one() -> None:
    """The refusal names precinct, reason and sender; the same report refused again
    later by the same credential has the same id."""
    payload = json.dumps({"race_id": "N1", "precinct_id": "P2", "report_id": "r-7"})
    first = read_dead_letter(letter(datetime(2021, 7, 25, 15, tzinfo=UTC), payload))
    again = read_dead_letter(letter(datetime(2021, 7, 25, 16, tzinfo=UTC), payload))
    assert first is not None and again is not None
    a, b = dead_letter_anomaly(first, reference()), dead_letter_anomaly(again, reference())
    assert a["anomaly_id"] == b["anomaly_id"] and a["at"] != b["at"]
    assert (a["code"], a["sender"], a["stage"], a["precinct_name"]) == (
        "sum_mismatch", "commission-p1", "ingest", "Precinct P2",
    )  # fmt: skip
    assert a["message"] == "ballots_cast: 761 != 760"


def test_hostile_dead_letters_are_skipped_or_made_safe() -> None:
    """No election, a malformed one, not JSON: skipped; lone surrogates: escaped."""
    at = datetime(2021, 7, 25, tzinfo=UTC)
    assert read_dead_letter(letter(at, "{}", election=None)) is None
    assert read_dead_letter(letter(at, "{}", election="a b")) is None
    assert read_dead_letter(b"\xff not json") is None and read_dead_letter(None) is None
    hostile = read_dead_letter(letter(at, '{"race_id": "\\ud800", "mark": 5}'))
    assert hostile is not None
    made = dead_letter_anomaly(hostile, reference())
    assert made["race_id"] == "\\ud800" and made["mark"] is None
    assert dumps(made)


async def test_the_writer_appends_each_anomaly_once_and_retries_while_down() -> None:
    """Offered twice (a re-fold), written once; while the feed is down nothing is lost;
    one anomaly of a malformed election is dropped without holding back the rest."""
    feed = MemoryAnomalyFeed()
    writer = AnomalyWriter(feed)
    (found,) = raised([turnout("N1", "P1", "10:00", 300), turnout("N1", "P1", "12:00", 250)])
    feed.available = False
    writer.offer(found)
    writer.offer(found)
    writer.offer({**found, "anomaly_id": "other", "election_id": "bad election"})
    await eventually(lambda: _async(writer.errors > 0), 5, "a failed append")
    feed.available = True
    await eventually(lambda: _async(writer.pending == 0), 10, "the retry")
    writer.offer(found)  # remembered: not sent again
    await writer.stop()
    page = await feed.page(ELECTION)
    assert page.total == 1 and [json.loads(d)["anomaly_id"] for d in page.items] == [
        found["anomaly_id"]
    ]
    assert (writer.written, writer.dropped) == (1, 1)
    assert json.loads(page.items[0])["noticed_at"]


async def _async(value: bool) -> bool:
    return value


async def test_stage1_offers_every_flag_and_a_refold_adds_nothing() -> None:
    """Stage 1 turns flags (a conflict, a call against the outcome) into anomalies; a
    worker re-folding the partition offers them again and the feed keeps one each."""
    definition = reference()
    feed = MemoryAnomalyFeed()
    events: list[Any] = [
        RaceCall("c1", ELECTION, "N1", "winner", ("B",), AT, "desk"),
        result("N1", "P1", {"A": 10}, report_id="x"),
        result("N1", "P1", {"A": 11}, report_id="y"),
        result("N1", "P2", {"A": 10}),
    ]
    records = [
        Record(race_key(ELECTION, "N1"),
               call_to_bytes(e) if isinstance(e, RaceCall) else report_to_bytes(e), 0)
        for e in events
    ]  # fmt: skip
    log = ReportsLog()
    log.records += records
    for _ in range(2):  # the live fold, then a takeover's re-fold
        writer = AnomalyWriter(feed)
        metrics, sink = Metrics(), Sink()
        folder = RaceFolder(
            Definitions(Catalog(definition)), log, sink, Topic(),
            DeadLetters(Topic(), metrics), sink, metrics, writer,
        )  # fmt: skip
        await folder.recover({0})
        await writer.stop()
    page = await feed.page(ELECTION)
    assert sorted(json.loads(d)["code"] for d in page.items) == [
        "call_disagrees", "revision_conflict",
    ]  # fmt: skip
    view = json.loads(sink.docs[f"race:{ELECTION}:N1"][1])
    assert view["call"]["candidate_ids"] == ["B"] and view["outcome"]["candidate_ids"] == ["A"]


async def test_a_flag_names_the_credential_that_sent_the_report() -> None:
    """The live fold reads the sender from the record's `votewire-credential` header (what
    ingest writes), so the panel says who sent the conflicting protocol; without the
    header the sender is unknown (None), never invented."""
    definition = reference()
    feed = MemoryAnomalyFeed()
    writer = AnomalyWriter(feed)
    metrics, sink = Metrics(), Sink()
    folder = RaceFolder(
        Definitions(Catalog(definition)), ReportsLog(), sink, Topic(),
        DeadLetters(Topic(), metrics), sink, metrics, writer,
    )  # fmt: skip
    first = result("N1", "P1", {"A": 10}, report_id="x")
    rival = result("N1", "P1", {"A": 11}, report_id="y")
    await folder.fold_batch([
        Record(race_key(ELECTION, "N1"), report_to_bytes(first), 0),
        Record(race_key(ELECTION, "N1"), report_to_bytes(rival), 0,
               tuple(credential_headers("commission-17"))),
    ])  # fmt: skip
    await writer.stop()
    page = await feed.page(ELECTION)
    (found,) = [json.loads(d) for d in page.items]
    assert found["code"] == "revision_conflict" and found["sender"] == "commission-17"


async def test_the_follower_feeds_dead_letters_of_known_elections_only() -> None:
    """Dead letters of the election become anomalies (once, however often delivered);
    those of no or an unknown election are counted and skipped."""
    feed, metrics = MemoryAnomalyFeed(), Metrics()
    writer = AnomalyWriter(feed)
    follower = DeadLetterFollower(Definitions(Catalog(reference()), wait_s=0.01), writer, metrics)
    at = datetime(2021, 7, 25, tzinfo=UTC)
    ours = letter(at, '{"race_id": "N1", "precinct_id": "P1"}')
    await follower.fold_batch([
        Record(b"k", ours, 0), Record(b"k", ours, 0),
        Record(b"k", letter(at, "{}", election="elsewhere"), 0),
        Record(b"k", b"garbage", 0),
    ])  # fmt: skip
    await writer.stop()
    page = await feed.page(ELECTION)
    assert page.total == 1 and json.loads(page.items[0])["precinct_id"] == "P1"
    assert metrics.counters["anomaly_letters_without_election"] == 2


class SlowFeed(MemoryAnomalyFeed):
    """A feed whose appends wait for the test: an offer can come while one is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.sent: list[str] = []

    async def append_many(self, anomalies: Sequence[Mapping[str, Any]]) -> list[Appended]:
        self.sent += [str(a["anomaly_id"]) for a in anomalies]
        await self.gate.wait()
        return await super().append_many(anomalies)


async def test_an_anomaly_offered_while_its_append_is_in_flight_is_sent_once() -> None:
    """Offers arriving during an append, and a flush called meanwhile, send nothing twice."""
    feed = SlowFeed()
    writer = AnomalyWriter(feed)
    (found,) = raised([turnout("N1", "P1", "10:00", 300), turnout("N1", "P1", "12:00", 250)])
    writer.offer(found)
    await eventually(lambda: _async(bool(feed.sent)), 5, "the append to start")
    writer.offer(found)
    flushing = asyncio.create_task(writer.flush())
    feed.gate.set()
    await flushing
    await writer.stop()
    assert feed.sent == [found["anomaly_id"]] and writer.written == 1
