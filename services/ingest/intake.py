"""The intake pipeline: items in, one verdict per item out, Kafka and Redis in between.

Shared by the HTTP API and the importer's --direct mode, so a report meets
the same checks whichever way it comes. For each batch, `Intake.submit`:

1. checks each item: parsed? a known election, not retired? valid
   (`validate_report`)?
   within the sender's scope? (a valid report outside it is `out_of_scope`;
   an invalid one is answered with its problems whatever its scope);
2. sorts the valid ones by idempotency: a repeat of an earlier report
   (earlier in the batch, or recorded in the seen store) with the same
   content is a duplicate, answered as accepted and not published again; with
   other content it is refused as `report_id_conflict`;
3. publishes the new reports (in batch order, each naming the sending
   credential in a record header) and one dead letter per refused item,
   concurrently, each bounded by the produce timeout;
4. records the acknowledged reports in the seen store, only now;
5. returns the verdicts, or raises `Unavailable` if anything was not stored:
   then nothing may be taken as answered and the client retries the whole
   batch, which is safe (what was stored is now a duplicate).

`Unavailable` is also raised before anything is sent when the definitions
are not loaded yet or the seen store does not answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from votewire.core.models import ElectionDefinition, Report
from votewire.core.retirement import Retired
from votewire.core.validation import Problem, Rejected, validate_report
from votewire.ingest.auth import Credential
from votewire.ingest.bodies import Item
from votewire.ingest.dead_letters import Sender, dead_letter
from votewire.ingest.idempotency import SeenStore, SeenStoreError, content_digest
from votewire.ingest.metrics import IngestMetrics
from votewire.ingest.publisher import PublishFailed, ReportPublisher

log = logging.getLogger(__name__)

INGEST_CODES: Mapping[str, str] = {
    "out_of_scope": "a valid report for a precinct outside the sender's credential scope",
    "report_id_conflict": "the report_id was already accepted with different content",
    "election_retired": "the election was retired (`votewire election retire`): no new reports",
}
"""Rejection codes ingest adds to `validation.CODES` (which it also uses:
`malformed_json` for an unparsable NDJSON line or body, `unknown_election`
for an election_id with no loaded definition)."""


class Unavailable(Exception):
    """Nothing of the batch may be taken as stored: answer 503, the client retries."""


class DefinitionSource(Protocol):
    ready: asyncio.Event

    def get(self, election_id: str) -> ElectionDefinition | None: ...
    def retirement(self, election_id: str) -> Retired | None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one item."""

    accepted: bool
    report_id: str | None
    problems: tuple[Problem, ...] = ()
    duplicate: bool = False

    @property
    def reason(self) -> str | None:
        return self.problems[0].code if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        if self.accepted:
            answer: dict[str, Any] = {"status": "accepted", "report_id": self.report_id}
            if self.duplicate:
                answer["duplicate"] = True
            return answer
        problems = [p.to_dict() for p in self.problems]
        return {"status": "rejected", "report_id": self.report_id, "problems": problems}


def refused(report_id: str | None, code: str, field: str | None, message: str) -> Verdict:
    return Verdict(False, report_id, (Problem(code, field, message),))


def batch_status(verdicts: Sequence[Verdict]) -> int:
    """200 all accepted; 207 some; none: 403 if all out of scope, 409 if all
    conflicts, else 422."""
    accepted = sum(v.accepted for v in verdicts)
    if accepted == len(verdicts):
        return 200
    if accepted:
        return 207
    reasons = {v.reason for v in verdicts}
    if reasons == {"out_of_scope"}:
        return 403
    if reasons == {"report_id_conflict"}:
        return 409
    return 422


@dataclass(frozen=True, slots=True)
class _Fresh:
    index: int
    report: Report
    digest: str


class Intake:
    """Validate, deduplicate, publish, record. One per process; safe for
    concurrent batches (see `idempotency` for the window between them)."""

    def __init__(
        self,
        definitions: DefinitionSource,
        publisher: ReportPublisher,
        seen: SeenStore,
        metrics: IngestMetrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.definitions = definitions
        self.publisher = publisher
        self.seen = seen
        self.metrics = metrics
        self.clock = clock

    async def submit(
        self, items: Sequence[Item], credential: Credential, sender: Sender
    ) -> list[Verdict]:
        """One verdict per item, in order; raises `Unavailable` (see module doc)."""
        if not self.definitions.ready.is_set():
            raise Unavailable("election definitions are not loaded yet")
        verdicts: list[Verdict | None] = [None] * len(items)
        fresh: list[_Fresh] = []
        for i, item in enumerate(items):
            checked = self._check(item, credential)
            if isinstance(checked, Verdict):
                verdicts[i] = checked
            else:
                fresh.append(_Fresh(i, checked, content_digest(checked)))
        new = await self._deduplicate(fresh, verdicts)
        refusals = [(i, v) for i, v in enumerate(verdicts) if v is not None and not v.accepted]
        now = self.clock()
        letters = [
            dead_letter(
                sender, now, v.report_id, v.problems, items[i].raw_text(), _election_of(items[i])
            )
            for i, v in refusals
        ]
        if new and letters:
            acked, letters_stored = await asyncio.gather(
                self._publish([f.report for f in new], credential), self._dead_letter(letters)
            )
        else:  # the common cases; no tasks to create
            acked = await self._publish([f.report for f in new], credential)
            letters_stored = await self._dead_letter(letters)
        stored = [f for f, ok in zip(new, acked, strict=True) if ok]
        for f in stored:
            verdicts[f.index] = Verdict(True, f.report.report_id)
        await self._record(stored)
        self.metrics.accepted += len(stored)
        if not all(acked) or not letters_stored:
            missing = acked.count(False) + (0 if letters_stored else len(letters))
            raise Unavailable(f"Kafka did not acknowledge {missing} record(s) in time")
        final = [v for v in verdicts if v is not None]
        assert len(final) == len(items)
        self._count(final)
        return final

    async def reject_body(self, body: bytes, code: str, message: str, sender: Sender) -> None:
        """Dead-letter a request body that could not be read as reports."""
        payload = body.decode("utf-8", "backslashreplace")
        letter = dead_letter(sender, self.clock(), None, [Problem(code, None, message)], payload)
        if not await self._dead_letter([letter]):
            raise Unavailable("Kafka did not acknowledge the dead letter in time")
        self.metrics.rejected[code] += 1

    def _check(self, item: Item, credential: Credential) -> Report | Verdict:
        if item.error is not None:
            return refused(None, "malformed_json", None, item.error)
        payload = item.value
        definition = self._definition_for(payload)
        if isinstance(definition, Verdict):
            return definition
        result = validate_report(payload, definition)
        if isinstance(result, Rejected):
            return Verdict(False, result.report_id, result.problems)
        report = result.report
        if not credential.may_report(definition, report.race_id, report.precinct_id):
            where = f"{report.race_id}/{report.precinct_id}"
            message = f"credential {credential.credential_id!r} may not report for {where}"
            return refused(report.report_id, "out_of_scope", "precinct_id", message)
        return report

    def _definition_for(self, payload: object) -> ElectionDefinition | Verdict:
        if not isinstance(payload, dict):
            return refused(None, "not_an_object", None, "expected a JSON object")
        rid = payload.get("report_id")
        rid = rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None
        election_id = payload.get("election_id")
        if election_id is None:
            return refused(rid, "missing_field", "election_id", "`election_id` is required")
        if not isinstance(election_id, str):
            return refused(rid, "wrong_type", "election_id", "expected a string")
        definition = self.definitions.get(election_id)
        if definition is None:
            shown = repr(election_id[:40])
            return refused(rid, "unknown_election", "election_id", f"no election {shown}")
        retired = self.definitions.retirement(election_id)
        if retired is not None:
            message = f"election {election_id!r} was retired at {retired.retired_at}"
            return refused(rid, "election_retired", "election_id", message)
        return definition

    async def _deduplicate(
        self, fresh: list[_Fresh], verdicts: list[Verdict | None]
    ) -> list[_Fresh]:
        """Fill in the verdicts of repeats; return the reports to publish."""
        first: dict[tuple[str, str], _Fresh] = {}
        for f in fresh:
            key = (f.report.election_id, f.report.report_id)
            earlier = first.setdefault(key, f)
            if earlier is not f:
                verdicts[f.index] = self._repeat(f, earlier.digest)
        unique = list(first.values())
        elections = sorted({f.report.election_id for f in unique})  # one, nearly always
        try:
            found = [
                await self.seen.lookup(
                    e, [f.report.report_id for f in unique if f.report.election_id == e]
                )
                for e in elections
            ]
        except SeenStoreError as exc:
            raise Unavailable(f"the idempotency store does not answer ({exc})") from None
        seen = {
            (e, rid): d for e, got in zip(elections, found, strict=True) for rid, d in got.items()
        }
        new = []
        for f in unique:
            recorded = seen.get((f.report.election_id, f.report.report_id))
            if recorded is None:
                new.append(f)
            else:
                verdicts[f.index] = self._repeat(f, recorded)
        return new

    def _repeat(self, f: _Fresh, earlier_digest: str) -> Verdict:
        if earlier_digest == f.digest:
            return Verdict(True, f.report.report_id, duplicate=True)
        message = "this report_id was already accepted with different content"
        return refused(f.report.report_id, "report_id_conflict", "report_id", message)

    async def _publish(self, reports: list[Report], credential: Credential) -> list[bool]:
        if not reports:
            return []
        try:
            return await self.publisher.publish_reports(reports, credential.credential_id)
        except PublishFailed:
            return [False] * len(reports)

    async def _dead_letter(self, letters: list[tuple[bytes, bytes]]) -> bool:
        if not letters:
            return True
        try:
            await self.publisher.publish_dead_letters(letters)
        except PublishFailed as exc:
            log.warning("dead letters not stored: %s", exc)
            return False
        self.metrics.dead_letters += len(letters)
        return True

    async def _record(self, stored: list[_Fresh]) -> None:
        by_election: dict[str, dict[str, str]] = {}
        for f in stored:
            by_election.setdefault(f.report.election_id, {})[f.report.report_id] = f.digest
        for election_id, digests in by_election.items():
            try:
                lost = await self.seen.record(election_id, digests)
            except SeenStoreError as exc:
                # Stored in Kafka but not recorded: a retry would publish a duplicate.
                self.metrics.idempotency_record_failures += len(digests)
                log.error("%d acknowledged report id(s) not recorded: %s", len(digests), exc)
                continue
            if lost:
                self.metrics.idempotency_races += len(lost)
                log.warning("report ids accepted concurrently with other content: %s", lost[:10])

    def _count(self, verdicts: list[Verdict]) -> None:
        for v in verdicts:
            if v.duplicate:
                self.metrics.duplicates += 1
            elif not v.accepted and v.reason is not None:
                self.metrics.rejected[v.reason] += 1


def _election_of(item: Item) -> str | None:
    """The election a refused item names, if it names one as a string (for its dead letter)."""
    value = item.value
    if isinstance(value, dict):
        found = value.get("election_id")
        if isinstance(found, str) and found:
            return found[:128]
    return None
