"""The event log's vocabulary: one Kafka record, and the topics that make the log.

The log is what replay, export and audit read: the three topics that hold the
evidence of an election night. Each is named here by its *role*, which is
also its file name in an archive (`reports.jsonl.gz`, ...):

- `definitions`: election definitions (compacted, keyed by election_id);
- `reports`: every accepted report (keyed "<election_id>/<race_id>"), in
  the order ingest published them, one race per partition;
- `dead-letters`: every refused report, with its problems and sender.

A `LogRecord` is a record as Kafka stored it: raw key and value bytes (None
for a missing key or a tombstone), its partition and offset, and its
timestamp in milliseconds since the Unix epoch (the delivery clock, see
`votewire.replay.as_of`).
"""

from __future__ import annotations

from typing import Literal

from votewire.config import Settings
from votewire.infra.topic_log import LogRecord

__all__ = ["ROLES", "TIMESTAMP_TYPES", "LogRecord", "Role", "file_name", "topic_of"]

Role = Literal["definitions", "reports", "dead-letters"]

ROLES: tuple[Role, ...] = ("definitions", "reports", "dead-letters")
"""Every role, in the order an archive lists (and a reader needs) them."""




TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


def topic_of(settings: Settings, role: Role) -> str:
    """The Kafka topic that plays `role` in this deployment."""
    if role == "definitions":
        return settings.definitions_topic
    if role == "reports":
        return settings.reports_topic
    return settings.dead_letter_topic


def file_name(role: Role) -> str:
    """The archive file of a role: `<role>.jsonl.gz`."""
    return f"{role}.jsonl.gz"
