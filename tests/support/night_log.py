"""A simulated night as the event log Kafka would hold, for replay and audit tests.

`night_log(definition, night)` turns `simulate_night`'s deliveries into the
three topics' records, the way ingest would have written them: each payload
validated against the definition; accepted reports on the reports topic
(key "<election>/<race>", canonical bytes, the sending credential in a
header, partition by a stable hash of the key, offsets in delivery order per
partition), refused ones on the dead-letter topic (ingest's record format,
with the election a payload names), the definition on its topic.
Every record's timestamp is the delivery time: the night's epoch plus the
delivery's `offset_seconds`.

The reports are listed partition by partition (the order Kafka readers and
the archive give), while `accepted` keeps delivery order, for the pure fold
that tests compare against (`pure_views`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from votewire.core.codec import dumps, encode_definition, report_to_bytes
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report
from votewire.core.report_headers import credential_headers
from votewire.core.scenario import (
    Emitted,
    FaultRates,
    kz2021_definition,
    night_epoch,
    simulate_night,
)
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report
from votewire.core.views import Views
from votewire.ingest.dead_letters import Sender, dead_letter
from votewire.replay.archive_manifest import Manifest, read_manifest
from votewire.replay.archive_writer import ArchiveWriter
from votewire.replay.log_records import LogRecord

SENDER = Sender("sim-commissions", "http", "127.0.0.1")


@dataclass
class NightLog:
    definitions: list[LogRecord] = field(default_factory=list)
    reports: list[LogRecord] = field(default_factory=list)
    dead_letters: list[LogRecord] = field(default_factory=list)
    accepted: list[tuple[int, Report]] = field(default_factory=list)
    """(delivery ms, report) in delivery order."""


def delivery_ms(definition: ElectionDefinition, item: Emitted) -> int:
    moment = night_epoch(definition) + timedelta(seconds=item.offset_seconds)
    return round(moment.timestamp() * 1000)


def partition_of(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def night_log(
    definition: ElectionDefinition, night: Sequence[Emitted], partitions: int = 3
) -> NightLog:
    log = NightLog()
    first = delivery_ms(definition, night[0]) - 60_000 if night else 0
    log.definitions.append(
        LogRecord(
            0, 0, first, definition.election_id.encode(), dumps(encode_definition(definition))
        )
    )
    by_partition: list[list[tuple[int, bytes, bytes]]] = [[] for _ in range(partitions)]
    for item in night:
        ms = delivery_ms(definition, item)
        outcome = validate_report(item.wire(), definition)
        if isinstance(outcome, Accepted):
            report = outcome.report
            key = race_key(report.election_id, report.race_id)
            by_partition[partition_of(key, partitions)].append((ms, key, report_to_bytes(report)))
            log.accepted.append((ms, report))
        else:
            received = night_epoch(definition) + timedelta(seconds=item.offset_seconds)
            key, value = dead_letter(
                SENDER,
                received,
                outcome.report_id,
                outcome.problems,
                dumps(item.wire()).decode(),
                _election_of(item.wire()),
            )
            offset = len(log.dead_letters)
            log.dead_letters.append(LogRecord(0, offset, ms, key, value))
    headers = tuple(credential_headers(SENDER.credential_id))
    for p, items in enumerate(by_partition):
        log.reports += [
            LogRecord(p, i, ms, k, v, headers=headers) for i, (ms, k, v) in enumerate(items)
        ]
    return log


def _election_of(wire: Any) -> str | None:
    """The election a refused payload names, as ingest puts it in the dead letter."""
    found = wire.get("election_id") if isinstance(wire, dict) else None
    return found if isinstance(found, str) and found else None


def pure_views(
    definition: ElectionDefinition, log: NightLog, until_ms: int | None = None
) -> tuple[Views, ElectionTally]:
    """The pure engine's fold of the reports delivered up to `until_ms` (delivery order)."""
    tally = ElectionTally(definition)
    for ms, report in log.accepted:
        if until_ms is None or ms <= until_ms:
            tally.apply(report)
    return tally.views(), tally


def write_archive(directory: Path, log: NightLog, prefix: str = "test") -> Manifest:
    """The log as an archive, as `votewire archive export` would write it."""
    with ArchiveWriter(directory, {"topic_prefix": prefix}) as writer:
        writer.open_file("definitions", f"{prefix}.definitions").write_all(log.definitions)
        writer.open_file("reports", f"{prefix}.reports").write_all(log.reports)
        writer.open_file("dead-letters", f"{prefix}.dead-letters").write_all(log.dead_letters)
    return read_manifest(directory)


def jsonable(views: Any) -> Any:
    """Views through JSON (tuples become lists), for comparing with decoded documents."""
    return json.loads(dumps(views))


@cache
def kz_night(fault_rate: float = 0.05) -> tuple[ElectionDefinition, NightLog]:
    """The kz-2021 night (seed 2021) with `fault_rate` of every fault, as a log (cached)."""
    definition = kz2021_definition(2021)
    faulty = simulate_night(definition, seed=2021, faults=FaultRates.uniform(fault_rate))
    return definition, night_log(definition, faulty)
