"""The publisher's contract with a fake producer: acks, timeouts, size, renewal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError, OutOfOrderSequenceNumber
from votewire.config import Settings
from votewire.core.codec import decode_definition, dumps, encode_definition, report_to_bytes
from votewire.core.models import Report
from votewire.core.validation import Accepted, validate_report
from votewire.ingest.publisher import KafkaPublisher, PublishFailed, TooLarge

from tests.support.definitions import result_report, tiny_definition
from tests.support.polling import eventually

SETTINGS = Settings.from_env({"VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS": "50"})
TINY = decode_definition(tiny_definition())


def result(race: str = "r1") -> Report:
    precinct, registered, votes = (
        ("p1", 1000, {"c1": 4, "c2": 3}) if race == "r1" else ("p3", 800, {"c3": 4, "c4": 3})
    )
    verdict = validate_report(result_report("x", race, precinct, registered, votes, 0, 0), TINY)
    assert isinstance(verdict, Accepted)
    return verdict.report


class FakeProducer:
    """Answers each send with a future: acked, failed with `error`, or never (`hang`)."""

    def __init__(self, error: type[Exception] | None = None, hang: bool = False) -> None:
        self.error, self.hang = error, hang
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.headers: list[Any] = []
        self.stopped = False

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        partition: int | None = None,
        headers: Any = None,
    ) -> asyncio.Future[Any]:
        if self.error is MessageSizeTooLargeError:
            raise MessageSizeTooLargeError()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.error is not None:
            future.set_exception(self.error())
        elif not self.hang:
            future.set_result(None)
        self.sent.append((topic, key, value))
        self.headers.append(headers)
        return future

    async def stop(self) -> None:
        self.stopped = True


latencies: list[float] = []


def publisher_with(producer: FakeProducer) -> KafkaPublisher:
    publisher = KafkaPublisher(SETTINGS, on_ack_latency=latencies.append)
    publisher.producer = producer  # type: ignore[assignment]
    return publisher


async def test_each_report_names_its_sender_in_a_header_and_keeps_its_bytes() -> None:
    """The value is the report's canonical encoding, unchanged; the one header names the
    credential that sent it."""
    producer = FakeProducer()
    report = result()
    await publisher_with(producer).publish_reports([report], "akmola-desk")
    assert producer.sent[0][2] == report_to_bytes(report)
    assert producer.headers == [[("votewire-credential", b"akmola-desk")]]


async def test_acknowledged_reports_are_keyed_by_election_and_race() -> None:
    """Each report goes to the reports topic, keyed "<election>/<race>", acked in order."""
    producer = FakeProducer()
    acked = await publisher_with(producer).publish_reports([result(), result("r2")], "desk")
    assert acked == [True, True]
    assert [(t, k) for t, k, _ in producer.sent] == [
        (SETTINGS.reports_topic, b"tiny-2026/r1"),
        (SETTINGS.reports_topic, b"tiny-2026/r2"),
    ]
    assert latencies


async def test_unacknowledged_in_time_is_reported_not_raised() -> None:
    """A record Kafka does not acknowledge within the produce timeout is `False`."""
    assert await publisher_with(FakeProducer(hang=True)).publish_reports([result()], "desk") == [
        False
    ]


async def test_not_started_and_oversized_records_raise() -> None:
    """No producer: PublishFailed; a definition too large for Kafka: TooLarge."""
    with pytest.raises(PublishFailed):
        await KafkaPublisher(SETTINGS).publish_reports([result()], "desk")
    with pytest.raises(TooLarge):
        await publisher_with(FakeProducer(MessageSizeTooLargeError)).publish_definition(
            TINY, dumps(encode_definition(TINY))
        )
    with pytest.raises(PublishFailed):
        await publisher_with(FakeProducer(hang=True)).publish_dead_letters([(b"k", b"v")])


async def test_a_refused_idempotence_state_renews_the_producer() -> None:
    """OutOfOrderSequenceNumber: the batch is not acked, the broken producer is stopped and
    replaced by a new one, and publishing works again."""
    broken, fresh = FakeProducer(OutOfOrderSequenceNumber), FakeProducer()
    publisher = publisher_with(broken)

    async def start() -> None:
        publisher.producer = fresh  # type: ignore[assignment]

    publisher.start = start  # type: ignore[method-assign]
    assert await publisher.publish_reports([result()], "desk") == [False]

    async def renewed() -> bool:
        return publisher.producer is fresh

    await eventually(renewed, 5, "the producer to be renewed")
    assert broken.stopped and publisher.renewals == 1
    assert await publisher.publish_reports([result()], "desk") == [True]
