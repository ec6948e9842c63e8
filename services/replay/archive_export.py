"""Exporting the event log from Kafka to a portable, hash-chained archive.

`export(settings, directory)` reads the definitions, reports and dead-letter
topics (in that order) with `KafkaLog` (no consumer group: nothing on the
cluster changes), each from its beginning to its end offsets as they stood
when the export began, partition by partition in offset order, and writes
them with `ArchiveWriter` (`<role>.jsonl.gz` + `manifest.json`). Exporting the
same log twice gives the same files' records and the same heads (only
`created_at` differs). A topic that does not exist gives an empty file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from votewire.config import Settings
from votewire.infra.topic_log import KafkaLog, total
from votewire.progress import Progress
from votewire.replay.archive_manifest import Manifest
from votewire.replay.archive_writer import ArchiveWriter
from votewire.replay.log_records import ROLES, topic_of


async def export(settings: Settings, directory: Path, progress: Progress | None = None) -> Manifest:
    """Write the whole log to an archive in `directory` (see the module doc)."""
    bar = progress or Progress(sys.stderr, enabled=False)
    source = {"kafka_bootstrap": settings.kafka_bootstrap, "topic_prefix": settings.topic_prefix}
    writer = ArchiveWriter(directory, source)
    try:
        async with KafkaLog(settings.kafka_bootstrap) as log:
            plan = [(role, topic_of(settings, role)) for role in ROLES]
            bounds = {topic: await log.bounds(topic) for _, topic in plan}
            bar.set_total(sum(total(b) for b in bounds.values()))
            done = 0
            for role, topic in plan:
                file = writer.open_file(role, topic)
                async for record in log.read(topic, bounds[topic]):
                    file.write(record)
                    done += 1
                    bar.update(done)
            bar.finish(done)
    except BaseException:
        writer.abandon()
        raise
    return writer.finish()
