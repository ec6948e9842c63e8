"""Folding the event log with the live pipeline's own code.

`definitions_of(records)` reads the definitions topic (or file) as the
live `DefinitionCatalog` does: per election the newest complete revision
(parts and header, `core.definition_records`), a tombstoned header removes
it, a record that fits no revision or does not decode is skipped.

`LogFold(definitions, window)` folds records of the reports topic exactly as
the aggregate's first stage does (`votewire.aggregate.folder`): the value is
decoded with `events.decode_event_trusted` (a report or a race call; ingest
validated it before publishing), the key must be "<election_id>/<race_id>",
and the report (or call) goes
to its election's `ElectionTally` (the core's `RaceState` per race, the
core's rollups for regions and the nation). The per-record path is total: a
record that cannot be folded is counted in `skipped` by reason
(`undecodable`, `misrouted`, `unknown_election`, `unknown_race`,
`fold_failed`), and listed in `skipped_records`, never raised. Records
outside the window are counted as `outside_window` and not folded.

Order: records must be offered in log order per partition (the exporter and
the Kafka reader both do), so every race sees its reports in the order the
live pipeline saw them, and the views, `version` fields included, are those
the live pipeline published after the same records. An `observer` sees every
folded report with its record and the result (audit's anomaly collector);
race calls are folded into their race's view but not shown to it. `on_flags`
sees every folded event (report or call) that raised flags, with its record
(`rebuild` turns them into the anomaly feed, as the live fold does).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from votewire.core.codec import DefinitionError, decode_definition, loads
from votewire.core.definition_records import Assembler, Complete, Removed
from votewire.core.events import decode_event_trusted
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report
from votewire.core.race_call import RaceCall
from votewire.core.race_state import ApplyResult
from votewire.core.tally import ElectionTally
from votewire.replay.as_of import Window
from votewire.replay.log_records import LogRecord

log = logging.getLogger(__name__)

MAX_LISTED_SKIPS = 1000


class FoldObserver(Protocol):
    def on_report(self, record: LogRecord, report: Report, result: ApplyResult) -> None: ...


def definitions_of(
    records: Iterable[LogRecord], window: Window | None = None
) -> dict[str, ElectionDefinition]:
    """Per election, the newest complete revision among `records` (in log order),
    assembled from its parts as `DefinitionCatalog` does (`core.definition_records`).

    With a window whose end is set, revisions completed after the end are ignored
    unless an election has none before it (a definition published late still
    describes the night). Only the revisions kept are decoded."""
    before: dict[str, bytes] = {}
    after: dict[str, bytes] = {}
    cut = window.end_ms if window is not None else None
    assembler = Assembler()
    for record in records:
        target = after if cut is not None and record.timestamp_ms > cut else before
        for event in assembler.offer(record.key, record.value, record.timestamp_ms):
            if isinstance(event, Complete):
                target[event.election_id] = event.text
            elif isinstance(event, Removed):
                target.pop(event.election_id, None)
            else:
                log.warning("skipping definition record %r: %s", event.key, event.reason)
    definitions: dict[str, ElectionDefinition] = {}
    for election_id, text in {**after, **before}.items():
        try:
            definitions[election_id] = decode_definition(loads(text))
        except (DefinitionError, ValueError, RecursionError) as exc:
            log.warning("skipping undecodable definition %r: %r", election_id, exc)
    return definitions


class LogFold:
    """Folds report records into one `ElectionTally` per election (see the module doc)."""

    def __init__(
        self,
        definitions: Mapping[str, ElectionDefinition],
        window: Window | None = None,
        observer: FoldObserver | None = None,
        elections: Iterable[str] | None = None,
        on_flags: Callable[[LogRecord, Report | RaceCall, ApplyResult], None] | None = None,
    ) -> None:
        wanted = set(definitions if elections is None else elections)
        self.tallies = {e: ElectionTally(d) for e, d in definitions.items() if e in wanted}
        self._left_out = set(definitions) - wanted
        self.window = window or Window()
        self.observer = observer
        self.on_flags = on_flags
        self.folded = 0
        self.skipped: Counter[str] = Counter()
        self.skipped_records: list[dict[str, Any]] = []
        self.ignored: Counter[str] = Counter()
        """Reports of elections left out with `elections` (not an error)."""

    def offer(self, record: LogRecord) -> bool:
        """Fold one record of the reports topic; True if it was folded."""
        if not self.window.contains(record.timestamp_ms):
            self.skipped["outside_window"] += 1
            return False
        try:
            report = decode_event_trusted(loads(record.value or b""))
        except (ValueError, KeyError, TypeError) as exc:
            return self._skip(record, "undecodable", str(exc)[:200])
        election_id = report.election_id
        tally = self.tallies.get(election_id)
        if tally is None:
            if election_id in self._left_out:
                self.ignored[election_id] += 1
                return False
            return self._skip(record, "unknown_election", election_id)
        if record.key != race_key(election_id, report.race_id):
            return self._skip(record, "misrouted", f"key {record.key!r}")
        if tally.definition.race(report.race_id) is None:
            return self._skip(record, "unknown_race", f"{election_id}/{report.race_id}")
        try:
            result = tally.apply(report)
        except Exception as exc:  # the per-record path stays total, as in the aggregate
            return self._skip(record, "fold_failed", repr(exc)[:200])
        self.folded += 1
        if result.flags and self.on_flags is not None:
            self.on_flags(record, report, result)
        if self.observer is not None and not isinstance(report, RaceCall):
            self.observer.on_report(record, report, result)
        return True

    def offer_all(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            self.offer(record)

    def _skip(self, record: LogRecord, reason: str, detail: str) -> bool:
        self.skipped[reason] += 1
        if len(self.skipped_records) < MAX_LISTED_SKIPS:
            self.skipped_records.append(
                {
                    "partition": record.partition,
                    "offset": record.offset,
                    "reason": reason,
                    "detail": detail,
                }
            )
        return False
