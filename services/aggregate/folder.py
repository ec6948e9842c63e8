"""Stage 1: fold reports into race states; publish race views.

`RaceFolder.fold_batch(records)` folds a batch of reports (any mix of
partitions) with the domain core (`RaceState.apply`), then, once per race
that changed in the batch:

1. writes the race state (`RaceState.to_dict`) to the state table, on the
   changelog partition of the report that changed it;
2. sends the race view to the compacted `race-snapshots` topic (key
   "<election>/<race>", for `rebuild` and any other reader), and the batch's
   race views of each region, packed in JSON arrays (`ports.pack`), to the
   region stage's topic (key "<election>/<region>");
3. offers it to the Redis writer for `race:<election>:<race>`.

Ordering: reports of one race share a partition, so they are folded in
ingest order; a race's published versions only grow.

Crash safety (at-least-once): 1 and 2 are Kafka sends that faust flushes
before it commits the batch's offsets. After a crash the uncommitted reports
are folded again; `RaceState.apply` is idempotent, so they change nothing
and nothing is double-counted. A crash can lose a send of step 2 while its
changelog write survived; hence `recover`, run after every rebalance,
re-publishes the views of every race the worker now owns (idempotent
downstream: stages keep the newest version, Redis writes are conditional).

The per-record path is total: an undecodable, misrouted or unknown-race
record goes to the dead-letter topic and is counted, never raised (a raising
agent would stop consuming while the worker keeps running).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from votewire.aggregate.channels import race_channel
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import (
    Definitions,
    Downstream,
    Record,
    StateTable,
    ViewSink,
    owned_entries,
    pack,
    tag,
    untag,
)
from votewire.core.codec import decode_report_trusted, dumps, loads
from votewire.core.race_state import RaceState

log = logging.getLogger(__name__)


def race_key(election_id: str, race_id: str) -> bytes:
    """The key of a race everywhere: reports, race snapshots, the state table."""
    return f"{election_id}/{race_id}".encode()


class Rejected(Exception):
    """A record stage 1 cannot fold; `reason` names why (dead letter, metric)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class RaceFolder:
    """Stage 1 (see the module doc). One per worker; not safe for concurrent batches."""

    def __init__(
        self,
        definitions: Definitions,
        table: StateTable,
        snapshots: Downstream,
        by_region: Downstream,
        dead_letters: Downstream,
        sink: ViewSink,
        metrics: Metrics,
    ) -> None:
        self.definitions = definitions
        self.table = table
        self.snapshots = snapshots
        self.by_region = by_region
        self.dead_letters = dead_letters
        self.sink = sink
        self.metrics = metrics
        self._cache: dict[bytes, RaceState] = {}

    def forget(self) -> None:
        """Drop the in-memory states (on revocation): the table is the truth."""
        self._cache.clear()

    async def fold_batch(self, records: Sequence[Record]) -> None:
        changed: dict[bytes, tuple[int, RaceState]] = {}
        for record in records:
            try:
                key, state = await self._fold(record)
            except Rejected as exc:
                await self._dead_letter(record, exc.reason, str(exc))
                continue
            except Exception as exc:  # the per-record path must stay total
                log.exception("folding record at partition %d failed", record.partition)
                await self._dead_letter(record, "fold_failed", repr(exc))
                continue
            if state is not None:
                changed[key] = (record.partition, state)
        for key, (partition, state) in changed.items():
            self.table.put(key, tag(partition, state.to_bytes()), partition)
        await self._publish([(key, state) for key, (_, state) in changed.items()])

    async def recover(self, partitions: set[int]) -> int:
        """Re-publish the view of every race owned in `partitions`; return how many."""
        self.forget()
        restored: list[tuple[bytes, RaceState]] = []
        for key, payload in owned_entries(self.table, partitions):
            try:
                data = loads(payload)
                election_id = key.decode().split("/", 1)[0]
                definition = await self.definitions.of(election_id)
                if definition is None:
                    self.metrics.count("recover_unknown")
                    continue
                state = RaceState.from_dict(definition, data)
            except Exception:
                log.exception("cannot restore race state %r", key)
                self.metrics.count("recover_errors")
                continue
            self._cache[key] = state
            restored.append((key, state))
        await self._publish(restored)
        return len(restored)

    async def _fold(self, record: Record) -> tuple[bytes, RaceState | None]:
        try:
            report = decode_report_trusted(loads(record.value or b""))
        except (ValueError, KeyError, TypeError) as exc:
            raise Rejected("undecodable", str(exc)[:200]) from None
        key = race_key(report.election_id, report.race_id)
        if record.key != key:
            raise Rejected("misrouted", f"key {record.key!r} is not {key!r}")
        state = await self._state(key, report.election_id, report.race_id)
        result = state.apply(report)
        self.metrics.count("reports_folded")
        self.metrics.count(f"reports_{result.status}")
        return key, state if result.changed else None

    async def _state(self, key: bytes, election_id: str, race_id: str) -> RaceState:
        definition = await self.definitions.of(election_id)
        if definition is None or definition.race(race_id) is None:
            raise Rejected("unknown_race", f"{election_id}/{race_id}")
        state = self._cache.get(key)
        if state is not None and state.definition is definition:
            return state
        stored = self.table.get(key)
        state = (
            RaceState.from_dict(definition, loads(untag(stored)[1]))
            if stored
            else RaceState(definition, race_id)
        )
        self._cache[key] = state
        return state

    async def _publish(self, states: list[tuple[bytes, RaceState]]) -> None:
        by_region: dict[bytes, list[bytes]] = {}
        for key, state in states:
            election_id = state.definition.election_id
            doc = dumps(state.view())
            await self.snapshots.send(key, doc)
            by_region.setdefault(f"{election_id}/{state.race.region_id}".encode(), []).append(doc)
            self.sink.offer(race_channel(election_id, state.race_id), state.version, doc)
        for region_key, docs in by_region.items():
            for message in pack(docs):
                await self.by_region.send(region_key, message)
        self.metrics.count("race_views_published", len(states))

    async def _dead_letter(self, record: Record, reason: str, detail: str) -> None:
        self.metrics.count(f"rejected_{reason}")
        log.error("dead-lettering record (partition %d): %s", record.partition, detail)
        letter = {
            "received_at": datetime.now(UTC).isoformat(),
            "stage": "aggregate",
            "reason": reason,
            "detail": detail,
            "key": (record.key or b"").decode(errors="replace"),
            "payload": (record.value or b"").decode(errors="replace"),
        }
        await self.dead_letters.send(record.key, dumps(letter))
