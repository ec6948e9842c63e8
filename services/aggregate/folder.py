"""Stage 1: fold reports into race states; publish race views.

The reports topic is stage 1's log (Kafka Streams' "source topic as
changelog", in its reprocessing form). It is kept forever, and the fold is
idempotent and order-free (`RaceState.apply`), so the worker keeps its race
states in memory only and writes no per-report state anywhere:

- `fold_batch(records)` folds a batch of reports (any mix of partitions)
  with the domain core (`fold`), then (`publish`), once per race that
  changed since the last publication, sends
  its view to the region stage (the batch's views of each region packed in
  JSON arrays, `ports.pack`, key `keys.region_key`) and offers it to the
  Redis writer for `race:<election>:<race>`. A race spanning regions
  (`region_id` null) sends instead its *parts* that changed (`RaceUnits.part`,
  what it adds to a region) to each region's key, and its view to the
  national stage (`to_nation`, key `keys.election_key`, as a one-element
  entry `[RaceView]`): it counts where its precincts are and once
  nationally (`core.rollup`). Cost per report: one apply and,
  per publication, one view per changed race: O(candidates + marks), whatever the
  size of the race;
- `recover(partitions)`, run once faust has assigned `partitions` and before
  it resumes them (a table recover callback), re-folds each of them from its
  first offset to its end *as of that moment* with a group-less reader
  (`PartitionLog`), raises each race's version past the version already
  published for it if that is higher (`VersionFloor`, so a published version
  never goes backwards and the re-folded figures are not refused as older),
  and re-publishes every race. faust then resumes from the
  committed offsets; records between those and the end are folded again as
  duplicates, which change nothing (reading only up to the committed offset
  would save that, but the offset faust seeks to is read after the callback,
  and a record between the two would be lost; a duplicate costs a decode).

Versions: a re-fold reads a partition in offset order, the order the live
fold sees it in, so it reaches the same version the pure engine gives for
that order (what the tests compare, version for version). Only a delivery
out of offset order (faust re-delivering a stale fetch after a seek, see
transport.py) can make the live fold count another number of changes; the
floor covers a higher count. An equal count with other figures would need
such a re-delivery *and* a crash before the next change of the race.

Crash safety (at-least-once): outputs are Kafka sends that faust flushes
before it commits the batch's offsets, and Redis offers; whatever a crash
loses, the next owner's `recover` publishes again. Nothing is counted twice:
a race's figures are a function of the set of its reports.

The per-record path is total: an undecodable, misrouted or unknown-race
record goes to the dead-letter topic (once: a re-fold counts but does not
re-send it) and is counted, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from votewire.aggregate.channels import race_channel
from votewire.aggregate.dead_letters import DeadLetters
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Downstream, Record, ViewSink, pack
from votewire.core.anomaly import AnomalySink, NoAnomalies, flag_anomaly
from votewire.core.channels import unit_channel
from votewire.core.codec import dumps, loads
from votewire.core.events import Event, decode_event_trusted
from votewire.core.keys import election_key, race_key, region_key
from votewire.core.precinct_rows import precincts_table
from votewire.core.race_state import RaceState
from votewire.core.report_headers import credential_of

log = logging.getLogger(__name__)

FLOOR_TIMEOUT_S = 10.0
PROGRESS_EVERY_S = 5.0


class PartitionLog(Protocol):
    """The reports topic, read once: every record of `partitions`, from each one's
    first offset to its end as of the call, in offset order per partition."""

    def batches(self, partitions: set[int]) -> AsyncIterator[list[Record]]: ...


class VersionFloor(Protocol):
    """The newest version already published per channel (absent: none known)."""

    async def versions(self, channels: Sequence[str]) -> dict[str, int]: ...


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
        log_reader: PartitionLog,
        floor: VersionFloor,
        by_region: Downstream,
        dead_letters: DeadLetters,
        sink: ViewSink,
        metrics: Metrics,
        anomalies: AnomalySink | None = None,
        to_nation: Downstream | None = None,
    ) -> None:
        self.definitions = definitions
        self.log_reader = log_reader
        self.floor = floor
        self.by_region = by_region
        self.dead_letters = dead_letters
        self.sink = sink
        self.metrics = metrics
        self.anomalies = anomalies or NoAnomalies()
        self.to_nation = to_nation
        self._states: dict[bytes, RaceState] = {}
        self._changed: dict[bytes, RaceState] = {}
        """Races changed by `fold` and not yet published, in order of first change."""

    def forget(self) -> None:
        """Drop every race state (on revocation): `recover` folds them again."""
        self._states.clear()
        self._changed.clear()

    @property
    def races(self) -> int:
        return len(self._states)

    async def fold_batch(self, records: Sequence[Record]) -> None:
        """Fold `records`, then publish what they changed (`fold` then `publish`)."""
        await self.fold(records)
        await self.publish()

    async def fold(self, records: Sequence[Record]) -> None:
        """Fold `records` into the race states; the races they changed wait for
        `publish` (the batch loop may fold several batches before it publishes)."""
        changed = self._changed
        for record in records:
            try:
                key, state = await self._fold(record)
            except Rejected as exc:
                await self._reject(record, exc.reason, str(exc))
                continue
            except Exception as exc:  # the per-record path must stay total
                log.exception("folding record at partition %d failed", record.partition)
                await self._reject(record, "fold_failed", repr(exc))
                continue
            if state is not None:
                changed[key] = state

    async def publish(self) -> None:
        """Publish each race changed since the last publication, once."""
        states = list(self._changed.values())
        self._changed.clear()
        await self._publish(states)

    async def recover(self, partitions: set[int]) -> int:
        """Re-fold `partitions` from their start and re-publish their races (module doc);
        returns how many races they hold."""
        self.forget()
        started = time.monotonic()
        folded = rejected = 0
        last_note = started
        async for records in self.log_reader.batches(partitions):
            # One turn of the loop before folding: the reader's next fetch goes out now
            # and arrives while this batch is folded, instead of after it.
            await asyncio.sleep(0)
            for record in records:
                try:
                    report, key = self._decode(record)
                    state = self._known(key, report.election_id)
                    if state is None:
                        state = await self._state(key, report.election_id, report.race_id)
                    self._apply(state, report, record, count=False)
                    folded += 1
                except Exception:  # dead-lettered when first folded; counted here only
                    rejected += 1
            now = time.monotonic()
            if now - last_note >= PROGRESS_EVERY_S:
                last_note = now
                log.info("re-folding partitions %s: %d reports, %.0f/s", sorted(partitions),
                         folded, folded / (now - started))  # fmt: skip
        self.metrics.count("refolded_reports", folded)
        self.metrics.count("refold_rejected", rejected)
        states = list(self._states.values())
        await self._apply_floor(states)
        await self._publish(states, every=True)
        log.info("re-folded partitions %s: %d reports of %d races in %.1f s (%d not foldable)",
                 sorted(partitions), folded, len(states), time.monotonic() - started,
                 rejected)  # fmt: skip
        return len(states)

    async def _apply_floor(self, states: list[RaceState]) -> None:
        channels = [race_channel(s.definition.election_id, s.race_id) for s in states]
        try:
            floors = await asyncio.wait_for(self.floor.versions(channels), FLOOR_TIMEOUT_S)
        except Exception:
            # Without the floor a re-published view may lose to an older one of a
            # higher version until its race changes again; counted and logged.
            log.exception("published versions unknown; re-publishing at re-folded versions")
            self.metrics.count("recover_floor_unknown")
            return
        for state, channel in zip(states, channels, strict=True):
            found = floors.get(channel)
            if found is not None and found > state.version:
                # Published by an owner that saw another delivery order: go past it, or
                # the conditional writes would keep its figures.
                self.metrics.count("recover_version_raised")
                state.raise_version(found + 1)

    async def _fold(self, record: Record, count: bool = True) -> tuple[bytes, RaceState | None]:
        """Fold one record; `count`: in the per-status metrics (not for a re-fold)."""
        report, key = self._decode(record)
        state = self._known(key, report.election_id)
        if state is None:
            state = await self._state(key, report.election_id, report.race_id)
        return key, state if self._apply(state, report, record, count) else None

    def _decode(self, record: Record) -> tuple[Event, bytes]:
        """The report (or race call) of `record` and its race's key; `Rejected` if it has
        none or was sent under another key."""
        try:
            report = decode_event_trusted(loads(record.value or b""))  # a report or a race call
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise Rejected("undecodable", str(exc)[:200]) from None
        key = race_key(report.election_id, report.race_id)
        if record.key != key:
            raise Rejected("misrouted", f"key {record.key!r} is not {key!r}")
        return report, key

    def _known(self, key: bytes, election_id: str) -> RaceState | None:
        """The state of `key` if it is folded under the current definition (no wait)."""
        state = self._states.get(key)
        if state is not None and state.definition is self.definitions.catalog.get(election_id):
            return state
        return None

    def _apply(self, state: RaceState, report: Event, record: Record, count: bool) -> bool:
        """Fold `report` (of `record`) into `state`, offer its flags naming the record's
        sender; whether the race changed."""
        result = state.apply(report)
        for flag in result.flags:  # a re-fold offers them again; the feed keeps each once
            sender = credential_of(record.headers)
            self.anomalies.offer(flag_anomaly(state.definition, flag, report, sender))
        if count:
            self.metrics.count("reports_folded")
            self.metrics.count(f"reports_{result.status}")
        return result.changed

    async def _state(self, key: bytes, election_id: str, race_id: str) -> RaceState:
        state = self._states.get(key)
        definition = self.definitions.catalog.get(election_id)
        if state is not None and state.definition is definition:
            return state
        definition = await self.definitions.of(election_id)
        if definition is None or definition.race(race_id) is None:
            raise Rejected("unknown_race", f"{election_id}/{race_id}")
        if state is not None:
            # A new revision of the definition: the reports stay, re-folded under it.
            fresh = RaceState(definition, race_id)
            for report in state.reports():
                fresh.apply(report)
            fresh.raise_version(state.version + 1)
            state = fresh
        else:
            state = RaceState(definition, race_id)
        self._states[key] = state
        return state

    async def _publish(self, states: list[RaceState], every: bool = False) -> None:
        """Offer each state's view, and its units and precinct rows that changed since the
        last publication (`every`: all of them, after a re-fold); send the views on."""
        by_region: dict[bytes, list[bytes]] = {}
        by_election: dict[bytes, list[bytes]] = {}
        for state in states:
            election_id = state.definition.election_id
            doc = dumps(state.view())
            if state.race.region_id is None:  # spans regions: parts and the nation
                for part in state.region_parts(every):
                    key = region_key(election_id, part["region_id"])
                    by_region.setdefault(key, []).append(dumps(part))
                by_election.setdefault(election_key(election_id), []).append(b"[%b]" % doc)
            else:
                by_region.setdefault(region_key(election_id, state.race.region_id), []).append(doc)
            self.sink.offer(race_channel(election_id, state.race_id), state.version, doc)
            for unit in state.unit_views(every):
                channel = unit_channel(election_id, state.race_id, unit["level"], unit["unit_id"])
                self.sink.offer(channel, unit["version"], dumps(unit))
            table = precincts_table(election_id, state.race_id)
            for precinct_id, row in state.precinct_rows(every):
                self.sink.offer_row(table, precinct_id, dumps(row))
        for key, docs in by_region.items():
            for message in pack(docs):
                await self.by_region.send(key, message)
        for key, entries in by_election.items():
            if self.to_nation is None:
                self.metrics.count("spanning_race_views_not_sent", len(entries))
                continue
            for message in pack(entries):
                await self.to_nation.send(key, message)
        self.metrics.count("race_views_published", len(states))

    async def _reject(self, record: Record, reason: str, detail: str) -> None:
        self.metrics.count(f"rejected_{reason}")
        log.error("dead-lettering record (partition %d): %s", record.partition, detail)
        await self.dead_letters.refuse(record.key, record.value, reason, detail)
