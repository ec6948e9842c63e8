"""The intake pipeline with in-memory ports: verdicts, idempotency, dead letters, 503s."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from votewire.core.codec import decode_definition
from votewire.core.models import ElectionDefinition, Report
from votewire.core.retirement import Retired
from votewire.core.validation import Problem
from votewire.ingest.auth import DEV_OPEN, Credential, Scope
from votewire.ingest.bodies import Item, parse_ndjson_lines
from votewire.ingest.dead_letters import MAX_PAYLOAD_CHARS, Sender, dead_letter
from votewire.ingest.idempotency import MemorySeenStore, content_digest
from votewire.ingest.intake import Intake, Unavailable, Verdict, batch_status
from votewire.ingest.metrics import IngestMetrics
from votewire.ingest.publisher import PublishFailed

from tests.support.definitions import result_report, tiny_definition

SENDER = Sender("desk", "http", "10.0.0.1")
NOW = datetime(2026, 7, 25, 15, 0, tzinfo=UTC)


class Definitions:
    def __init__(self, *definitions: ElectionDefinition) -> None:
        self.ready = asyncio.Event()
        self.ready.set()
        self.by_id = {d.election_id: d for d in definitions}
        self.retired: dict[str, Retired] = {}

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self.by_id.get(election_id)

    def retirement(self, election_id: str) -> Retired | None:
        return self.retired.get(election_id)


class FakePublisher:
    """Acknowledges everything unless told which report ids to drop."""

    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.senders: list[str] = []
        self.letters: list[dict[str, Any]] = []
        self.drop: set[str] = set()
        self.down = False

    async def publish_reports(self, reports: Sequence[Report], credential_id: str) -> list[bool]:
        if self.down:
            raise PublishFailed("down")
        acked = [r.report_id not in self.drop for r in reports]
        self.reports += [r for r, ok in zip(reports, acked, strict=True) if ok]
        self.senders += [credential_id for ok in acked if ok]
        return acked

    async def publish_definition(self, definition: ElectionDefinition) -> None:
        raise NotImplementedError

    async def publish_dead_letters(self, letters: Sequence[tuple[bytes, bytes]]) -> None:
        if self.down:
            raise PublishFailed("down")
        self.letters += [json.loads(value) for _, value in letters]


def make_intake(
    publisher: FakePublisher | None = None, seen: MemorySeenStore | None = None
) -> tuple[Intake, FakePublisher, MemorySeenStore, IngestMetrics]:
    publisher = publisher or FakePublisher()
    seen = seen or MemorySeenStore()
    metrics = IngestMetrics()
    definitions = Definitions(decode_definition(tiny_definition()))
    return (
        Intake(definitions, publisher, seen, metrics, clock=lambda: NOW),
        publisher,
        seen,
        metrics,
    )


def report(rid: str = "rep-1", invalid: int = 10, **over: Any) -> dict[str, Any]:
    return {**result_report(rid, "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, invalid), **over}


def items(*payloads: Any) -> list[Item]:
    return [Item(p) for p in payloads]


async def test_valid_reports_are_published_and_recorded_after_the_ack() -> None:
    """Accepted means published; the seen store then holds id -> content digest."""
    intake, publisher, seen, metrics = make_intake()
    verdicts = await intake.submit(items(report("a"), report("b")), DEV_OPEN, SENDER)
    assert [v.to_dict() for v in verdicts] == [
        {"status": "accepted", "report_id": "a"},
        {"status": "accepted", "report_id": "b"},
    ]
    assert [r.report_id for r in publisher.reports] == ["a", "b"]
    assert publisher.senders == [DEV_OPEN.credential_id] * 2  # the sender goes with each
    assert seen.seen[("tiny-2026", "a")] == content_digest(publisher.reports[0])
    assert metrics.accepted == 2 and publisher.letters == []


async def test_a_retry_is_a_duplicate_and_is_not_published_again() -> None:
    """The same report again (even re-ordered keys, omitted zero votes) is accepted once."""
    intake, publisher, _, metrics = make_intake()
    await intake.submit(items(report()), DEV_OPEN, SENDER)
    again = dict(reversed(list(report().items())))
    [verdict] = await intake.submit(items(again), DEV_OPEN, SENDER)
    assert verdict.to_dict() == {"status": "accepted", "report_id": "rep-1", "duplicate": True}
    assert len(publisher.reports) == 1 and metrics.duplicates == 1


async def test_same_id_other_content_is_a_conflict_and_dead_lettered() -> None:
    """report_id reuse with different content is refused, recorded with the sender."""
    intake, publisher, _, metrics = make_intake()
    await intake.submit(items(report()), DEV_OPEN, SENDER)
    changed = report(invalid=9, ballots_cast=759)
    [verdict] = await intake.submit(items(changed), DEV_OPEN, SENDER)
    assert verdict.reason == "report_id_conflict" and batch_status([verdict]) == 409
    [letter] = publisher.letters
    assert letter["reason"] == "report_id_conflict" and letter["sender"]["credential_id"] == "desk"
    assert json.loads(letter["payload"]) == changed
    assert metrics.rejected["report_id_conflict"] == 1


async def test_repeats_within_one_batch_are_sorted_out_too() -> None:
    """In one batch: a second identical copy is a duplicate, a changed copy a conflict."""
    intake, publisher, _, _ = make_intake()
    batch = items(report(), report(), report(invalid=9, ballots_cast=759))
    verdicts = await intake.submit(batch, DEV_OPEN, SENDER)
    assert [(v.accepted, v.duplicate, v.reason) for v in verdicts] == [
        (True, False, None),
        (True, True, None),
        (False, False, "report_id_conflict"),
    ]
    assert len(publisher.reports) == 1


async def test_invalid_and_unparsable_items_are_rejected_with_their_payload() -> None:
    """Validation problems and bad NDJSON lines are answered and dead-lettered verbatim."""
    intake, publisher, _, metrics = make_intake()
    batch = parse_ndjson_lines(
        [json.dumps(report("ok")), '{"kind": "result"', json.dumps(report("bad", ballots_cast=761))]
    )
    verdicts = await intake.submit(batch, DEV_OPEN, SENDER)
    assert [v.reason for v in verdicts] == [None, "malformed_json", "sum_mismatch"]
    assert batch_status(verdicts) == 207
    assert [x["payload"] for x in publisher.letters] == [batch[1].raw, batch[2].raw]
    assert publisher.letters[1]["report_id"] == "bad"
    assert metrics.rejected == {"malformed_json": 1, "sum_mismatch": 1}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ([1, 2], "not_an_object"),
        ({"kind": "result"}, "missing_field"),
        ({"election_id": 7}, "wrong_type"),
        ({"election_id": "nope", "report_id": "x"}, "unknown_election"),
    ],
)
async def test_items_without_a_known_election_are_rejected(payload: Any, code: str) -> None:
    """Without a definition to check against, the item is refused with a precise code."""
    intake, publisher, _, _ = make_intake()
    [verdict] = await intake.submit(items(payload), DEV_OPEN, SENDER)
    assert verdict.reason == code and publisher.letters[0]["reason"] == code


async def test_reports_for_a_retired_election_are_refused_and_dead_lettered() -> None:
    """Once retired, even a valid report is `election_retired` (422), dead-lettered,
    not published; withdrawing the retirement takes reports again."""
    intake, publisher, _, metrics = make_intake()
    definitions = intake.definitions
    assert isinstance(definitions, Definitions)
    definitions.retired["tiny-2026"] = Retired("tiny-2026", "2026-07-26T00:00:00.000Z", "desk")
    [verdict] = await intake.submit(items(report()), DEV_OPEN, SENDER)
    assert verdict.reason == "election_retired" and batch_status([verdict]) == 422
    assert "retired at 2026-07-26" in verdict.problems[0].message
    assert publisher.reports == [] and publisher.letters[0]["reason"] == "election_retired"
    assert metrics.rejected["election_retired"] == 1
    del definitions.retired["tiny-2026"]
    [verdict] = await intake.submit(items(report()), DEV_OPEN, SENDER)
    assert verdict.accepted


async def test_a_valid_report_outside_the_scope_is_refused_and_recorded() -> None:
    """out_of_scope: 403 when it is the only reason, dead letter names the sender."""
    intake, publisher, seen, _ = make_intake()
    west_only = Credential("desk-west", scopes=(Scope("tiny-2026", regions=frozenset({"west"})),))
    [verdict] = await intake.submit(items(report()), west_only, Sender("desk-west", "http"))
    assert verdict.reason == "out_of_scope" and batch_status([verdict]) == 403
    assert publisher.reports == [] and seen.seen == {}
    assert publisher.letters[0]["sender"]["credential_id"] == "desk-west"


async def test_nothing_is_recorded_for_a_report_kafka_did_not_acknowledge() -> None:
    """An unacknowledged report makes the batch 503; only the acked ones are recorded,
    so the retry of the whole batch publishes just the missing one."""
    publisher = FakePublisher()
    publisher.drop = {"b"}
    intake, _, seen, _ = make_intake(publisher)
    with pytest.raises(Unavailable):
        await intake.submit(items(report("a"), report("b")), DEV_OPEN, SENDER)
    assert set(seen.seen) == {("tiny-2026", "a")}
    publisher.drop = set()
    verdicts = await intake.submit(items(report("a"), report("b")), DEV_OPEN, SENDER)
    assert [(v.report_id, v.duplicate) for v in verdicts] == [("a", True), ("b", False)]
    assert [r.report_id for r in publisher.reports] == ["a", "b"]


async def test_kafka_down_or_definitions_not_loaded_is_unavailable() -> None:
    """No producer, failed dead letters, or no definitions yet: Unavailable, nothing seen."""
    publisher = FakePublisher()
    publisher.down = True
    intake, _, seen, _ = make_intake(publisher)
    with pytest.raises(Unavailable):
        await intake.submit(items(report()), DEV_OPEN, SENDER)
    with pytest.raises(Unavailable):
        await intake.submit(items({"bad": 1}), DEV_OPEN, SENDER)
    assert seen.seen == {}
    not_loaded = Definitions()
    not_loaded.ready.clear()
    pending = Intake(not_loaded, FakePublisher(), MemorySeenStore(), IngestMetrics())
    with pytest.raises(Unavailable, match="not loaded"):
        await pending.submit(items(report()), DEV_OPEN, SENDER)


async def test_a_lost_recording_race_is_counted() -> None:
    """If another process recorded other content for the id meanwhile, it is counted."""
    seen = MemorySeenStore()

    class Racing(MemorySeenStore):
        async def lookup(self, election_id: str, report_ids: Sequence[str]) -> dict[str, str]:
            found = await seen.lookup(election_id, report_ids)
            seen.seen[("tiny-2026", "rep-1")] = "0" * 64  # the other process wins
            return found

        async def record(self, election_id: str, digests: Any) -> list[str]:
            return await seen.record(election_id, digests)

    intake, _, _, metrics = make_intake(seen=Racing())
    [verdict] = await intake.submit(items(report()), DEV_OPEN, SENDER)
    assert verdict.accepted and metrics.idempotency_races == 1


@pytest.mark.parametrize(
    ("accepted", "reasons", "status"),
    [
        ([True, True], [None, None], 200),
        ([True, False], [None, "sum_mismatch"], 207),
        ([False, False], ["out_of_scope", "out_of_scope"], 403),
        ([False], ["report_id_conflict"], 409),
        ([False, False], ["out_of_scope", "sum_mismatch"], 422),
    ],
)
def test_batch_status(accepted: list[bool], reasons: list[str | None], status: int) -> None:
    """The request status summarises the per-item verdicts as documented."""
    verdicts = [
        Verdict(ok, "x", () if code is None else (Problem(code, None, ""),))
        for ok, code in zip(accepted, reasons, strict=True)
    ]
    assert batch_status(verdicts) == status


def test_dead_letters_are_ascii_json_truncated_and_carry_no_secret() -> None:
    """Any string encodes (lone surrogates too); big payloads are cut and flagged."""
    problems = [Problem("sum_mismatch", "ballots_cast", "off by one")]
    key, value = dead_letter(SENDER, NOW, "r\ud800", problems, "x" * (MAX_PAYLOAD_CHARS + 5))
    record = json.loads(value.decode("ascii"))
    assert key == b"desk" and record["payload_truncated"] is True
    assert len(record["payload"]) == MAX_PAYLOAD_CHARS and record["reason"] == "sum_mismatch"
    assert record["sender"] == {"credential_id": "desk", "via": "http", "peer": "10.0.0.1"}
    assert record["received_at"] == NOW.isoformat()
