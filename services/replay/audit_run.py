"""One audit: load two sources, compare them, read the log for anomalies.

`run_audit(settings, left, right, ...)`:

1. definitions: `--definition`, else the first archive source's, else the
   definitions topic (needed only when a Redis source must be enumerated or
   the log is Kafka); the election: `--election` or the only one;
2. the log the anomalies come from (`log`): "auto" takes the first archive
   source, else Kafka when a source is Redis (the live log behind it), else
   none; or "kafka", "none", or "archive:DIR";
3. each source becomes a `ViewSet`: archives are folded offline (the fold
   of the log archive also feeds the anomaly collector), Redis prefixes and
   replay namespaces are read, tables are read; a Kafka log is folded in
   memory for its anomalies (its views are not compared unless asked for
   through a replay);
4. `compare(left, right)`.

`window` (--as-of / --from) applies to what is folded from a log (archive
sources and the anomalies); Redis views are what they are, and a replay
namespace carries the window it was made with (shown in its note).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from votewire.config import Settings
from votewire.core.models import ElectionDefinition
from votewire.infra.topic_log import KafkaLog, total
from votewire.progress import Progress
from votewire.replay.archive_fold import (
    NoDefinition,
    archive_definitions,
    fold_archive,
    pick_election,
)
from votewire.replay.archive_reader import Archive
from votewire.replay.as_of import Window
from votewire.replay.audit_anomalies import AnomalyCollector
from votewire.replay.audit_compare import Difference, ViewSet, compare
from votewire.replay.audit_sources import (
    Source,
    parse_source,
    redis_views,
    table_views,
    tally_views,
)
from votewire.replay.log_fold import LogFold, definitions_of
from votewire.replay.replay_store import ReplayNamespace, namespace_prefix


@dataclass
class AuditResult:
    definition: ElectionDefinition
    left: ViewSet
    right: ViewSet
    differences: list[Difference]
    anomalies: AnomalyCollector | None
    log: str
    window: Window

    def to_dict(self) -> dict[str, Any]:
        return {
            "election_id": self.definition.election_id,
            "test": self.definition.test,
            "left": {"source": self.left.label, "note": self.left.note},
            "right": {"source": self.right.label, "note": self.right.note},
            "window": self.window.to_dict(),
            "differences": [d.to_dict() for d in self.differences],
            "anomalies_from": self.log,
            "anomalies": None if self.anomalies is None else self.anomalies.to_dict(),
        }


def log_source(log: str, left: Source, right: Source) -> Source | None:
    """The source of the anomaly list (see the module doc)."""
    if log == "none":
        return None
    if log == "kafka":
        return Source("kafka", "")
    if log != "auto":
        return parse_source(log)
    for source in (left, right):
        if source.kind == "archive":
            return source
    if left.needs_kafka_definitions or right.needs_kafka_definitions:
        return Source("kafka", "")
    return None


async def _kafka_definitions(settings: Settings, window: Window) -> dict[str, ElectionDefinition]:
    async with KafkaLog(settings.kafka_bootstrap) as log:
        return definitions_of(await log.read_all(settings.definitions_topic), window)


async def _kafka_anomalies(
    settings: Settings,
    definitions: Mapping[str, ElectionDefinition],
    election: str,
    window: Window,
    progress: Progress | None,
) -> AnomalyCollector:
    collector = AnomalyCollector(definitions[election])
    fold = LogFold(definitions, window, collector, elections=[election])
    bar = progress or Progress(sys.stderr, enabled=False)
    async with KafkaLog(settings.kafka_bootstrap) as log:
        bounds = await log.bounds(settings.reports_topic, window.start_ms)
        bar.set_total(total(bounds))
        count = 0
        async for record in log.read(settings.reports_topic, bounds):
            fold.offer(record)
            count += 1
            bar.update(count)
        bar.finish(count)
        letters = await log.bounds(settings.dead_letter_topic, window.start_ms)
        async for record in log.read(settings.dead_letter_topic, letters):
            if window.contains(record.timestamp_ms):
                collector.on_dead_letter(record)
    return collector


async def _definitions(
    settings: Settings,
    sources: list[Source],
    archives: dict[str, Archive],
    definition: ElectionDefinition | None,
    window: Window,
) -> dict[str, ElectionDefinition]:
    """The definitions, from the first place that has them (see the module doc)."""
    if definition is not None:
        return {definition.election_id: definition}
    if archives:
        return archive_definitions(next(iter(archives.values())), window)
    if any(s.kind in ("redis", "replay", "kafka") for s in sources):
        return await _kafka_definitions(settings, window)
    raise NoDefinition("no source carries a definition: give one with --definition")


@dataclass
class _Fold:
    """What folding an archive needs, the same for every archive of one audit."""

    definitions: dict[str, ElectionDefinition]
    election: str
    window: Window
    progress: Progress | None

    def views(
        self, source: Source, archive: Archive, collector: AnomalyCollector | None
    ) -> ViewSet:
        """Fold `archive` (feeding `collector`, dead letters included, if given)."""
        fold = fold_archive(
            archive,
            window=self.window,
            election=self.election,
            definitions=self.definitions,
            observer=collector,
            progress=self.progress,
        )
        if collector is not None:
            for record in archive.records("dead-letters"):
                if self.window.contains(record.timestamp_ms):
                    collector.on_dead_letter(record)
        note = f"archive head {archive.manifest.head[:16]}..., {self.window.describe()}"
        return tally_views(source.label, fold.tallies[self.election], note)


async def run_audit(
    settings: Settings,
    left: Source,
    right: Source,
    *,
    election: str | None = None,
    definition: ElectionDefinition | None = None,
    log: str = "auto",
    window: Window | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """One audit (see the module doc)."""
    window = window or Window()
    anomaly_log = log_source(log, left, right)
    sources = [s for s in (left, right, anomaly_log) if s is not None]
    archives = {s.arg: Archive(Path(s.arg)) for s in sources if s.kind == "archive"}
    definitions = await _definitions(settings, sources, archives, definition, window)
    chosen = pick_election(definitions, election)
    folds = _Fold(definitions, chosen, window, progress)
    collector: AnomalyCollector | None = None
    view_sets: dict[Source, ViewSet] = {}
    client: aioredis.Redis | None = None
    try:
        for source in (left, right):
            if source in view_sets:
                continue
            if source.kind == "archive":
                feeds = anomaly_log == source and collector is None
                observer = AnomalyCollector(definitions[chosen]) if feeds else None
                view_sets[source] = folds.views(source, archives[source.arg], observer)
                collector = collector or observer
            elif source.kind == "csv":
                view_sets[source] = table_views(source, chosen)
            else:
                client = client or aioredis.from_url(settings.redis_url)
                view_sets[source] = await _redis_source(
                    settings, client, source, definitions[chosen]
                )
    finally:
        if client is not None:
            await client.aclose()
    if anomaly_log is not None and collector is None:
        if anomaly_log.kind == "kafka":
            collector = await _kafka_anomalies(settings, definitions, chosen, window, progress)
        else:
            collector = AnomalyCollector(definitions[chosen])
            folds.views(anomaly_log, archives[anomaly_log.arg], collector)
    return AuditResult(
        definition=definitions[chosen],
        left=view_sets[left],
        right=view_sets[right],
        differences=compare(view_sets[left], view_sets[right]),
        anomalies=collector,
        log="none" if anomaly_log is None else anomaly_log.label,
        window=window,
    )


async def _redis_source(
    settings: Settings, client: aioredis.Redis, source: Source, definition: ElectionDefinition
) -> ViewSet:
    if source.kind == "replay":
        prefix = namespace_prefix(settings.redis_prefix, source.arg)
        found = await redis_views(client, prefix, definition, source.label)
        meta = await ReplayNamespace(client, prefix, settings.redis_prefix).get_meta()
        if meta is None:
            found.note = f"no replay found under {prefix}"
        else:
            window = meta.get("window") or {}
            found.note = (
                f"replayed {meta.get('records', '?')} records of {meta.get('topic', '?')}, "
                f"until {window.get('until') or 'the end'}"
            )
        return found
    prefix = source.arg or settings.redis_prefix
    found = await redis_views(client, prefix, definition, source.label)
    found.note = "live views" if not source.arg else f"views under {prefix}"
    return found
