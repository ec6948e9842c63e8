"""The anomaly list of an audit: what the event log says went wrong on the night.

`AnomalyCollector(definition)` is a `log_fold.FoldObserver`: it sees every
report the fold applies, in log order, with its delivery time, and keeps

- `corrections`: a report that replaced its slot's winner with a higher
  revision: who (the precinct commission, `race_id/precinct_id`, the report
  ids, and the credential that sent each: `credential` the correction,
  `old_credential` the report it replaced, from the record header ingest
  writes, `votewire.core.report_headers`; null for a record without it),
  when (delivery times and the commission's `reported_at` of both), the old
  and new figures and what changed. Every other item names its report's
  `credential` too;
- `stale`: a lower revision than the slot's winner, arriving after it (kept
  out of the figures, by the contract's revision rule);
- `duplicates`: a report equal to one already counted (re-sent);
- `conflicts`: same slot and revision with other figures, or a report id
  reused for other content (`revision_conflict` / `report_id_conflict`);
- `flags`: the soft validation flags (`turnout_decreased`: turnout falling
  between marks; `result_below_turnout`: a result below the last turnout).

`on_dead_letter(record)` reads the dead-letter topic: rejected reports by
reason (ingest's first problem code, or the aggregate's reason), with the
sender's credential id, report id and problem codes. Only this election's
dead letters are counted (a letter's `election_id`, `core.dead_letter`);
letters of other elections are skipped (counted as `other_elections`, an
election id mistyped by a sender among them), and those that name no
election (an unreadable body, a report without a usable `election_id`, a
letter written before letters carried it) are counted apart, by reason, as
`unattributed`; neither is in this election's figures.

Times are shown in the election's time zone. `to_dict()` is JSON-ready.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from votewire.core.codec import loads
from votewire.core.models import ElectionDefinition, Report, ResultReport, SlotKey, slot_key
from votewire.core.race_state import ApplyResult
from votewire.core.report_headers import credential_of
from votewire.replay.log_records import LogRecord

SOFT_FLAGS = ("turnout_decreased", "result_below_turnout")
CONFLICT_FLAGS = ("revision_conflict", "report_id_conflict")


def figures(report: Report) -> dict[str, Any]:
    """The counts a report states (what a correction replaces)."""
    if isinstance(report, ResultReport):
        return {
            "registered": report.registered,
            "ballots_cast": report.ballots_cast,
            "votes": dict(report.votes),
            "against_all": report.against_all,
            "invalid": report.invalid,
        }
    return {"ballots_cast": report.ballots_cast}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """ "field: old -> new" for every count that differs (votes per candidate)."""
    out = []
    for name in new:
        a, b = old.get(name), new[name]
        if isinstance(b, dict):
            a = a if isinstance(a, dict) else {}
            for cid in sorted(set(a) | set(b)):
                if a.get(cid, 0) != b.get(cid, 0):
                    out.append(f"votes.{cid}: {a.get(cid, 0)} -> {b.get(cid, 0)}")
        elif a != b:
            out.append(f"{name}: {a} -> {b}")
    return out


class AnomalyCollector:
    """Collects the anomalies of one election's log (see the module doc)."""

    def __init__(self, definition: ElectionDefinition) -> None:
        self.definition = definition
        self._zone = ZoneInfo(definition.timezone)
        self._winners: dict[SlotKey, tuple[Report, int, str | None]] = {}
        self.corrections: list[dict[str, Any]] = []
        self.stale: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.conflicts: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.rejected_by_reason: Counter[str] = Counter()
        self.unattributed: Counter[str] = Counter()
        """Dead letters that name no election, by reason."""
        self.elsewhere = 0
        """Dead letters of other elections, skipped."""

    def at(self, ms: int) -> str:
        """A delivery time in the election's zone."""
        return (
            datetime.fromtimestamp(ms / 1000, UTC).astimezone(self._zone).isoformat("T", "seconds")
        )

    def _base(self, record: LogRecord, report: Report) -> dict[str, Any]:
        race = self.definition.race(report.race_id)
        mark = getattr(report, "mark", None)
        return {
            "race_id": report.race_id,
            "region_id": race.region_id if race else None,
            "precinct_id": report.precinct_id,
            "commission": f"{report.race_id}/{report.precinct_id}",
            "kind": report.kind,
            "mark": mark,
            "report_id": report.report_id,
            "revision": report.revision,
            "reported_at": report.reported_at.isoformat(),
            "delivered_at": self.at(record.timestamp_ms),
            "delivered_ms": record.timestamp_ms,
            "credential": credential_of(record.headers),
        }

    def on_report(self, record: LogRecord, report: Report, result: ApplyResult) -> None:
        slot = slot_key(report)
        winner = self._winners.get(slot)
        if result.status == "applied":
            if winner is not None and winner[0].revision < report.revision:
                self._correction(record, report, winner)
            self._winners[slot] = (report, record.timestamp_ms, credential_of(record.headers))
        elif result.status == "stale":
            item = self._base(record, report)
            if winner is not None:
                item["winner_report_id"] = winner[0].report_id
                item["winner_revision"] = winner[0].revision
            self.stale.append(item)
        elif result.status == "duplicate":
            item = self._base(record, report)
            if winner is not None:
                item["of_report_id"] = winner[0].report_id
            self.duplicates.append(item)
        for flag in result.flags:
            entry = {**flag.to_dict(), **_when(self._base(record, report))}
            if flag.code in CONFLICT_FLAGS:
                self.conflicts.append(entry)
                if flag.figures.get("kept") == "arriving":
                    sender = credential_of(record.headers)
                    self._winners[slot] = (report, record.timestamp_ms, sender)
            elif flag.code in SOFT_FLAGS:
                self.flags.append(entry)

    def _correction(
        self, record: LogRecord, report: Report, winner: tuple[Report, int, str | None]
    ) -> None:
        old, old_ms, old_sender = winner
        item = self._base(record, report)
        new_figures, old_figures = figures(report), figures(old)
        item.update(
            {
                "old_report_id": old.report_id,
                "old_revision": old.revision,
                "old_reported_at": old.reported_at.isoformat(),
                "old_delivered_at": self.at(old_ms),
                "old_credential": old_sender,
                "old": old_figures,
                "new": new_figures,
                "changes": changes(old_figures, new_figures),
            }
        )
        self.corrections.append(item)

    def on_dead_letter(self, record: LogRecord) -> None:
        try:
            letter = loads(record.value or b"")
            if not isinstance(letter, dict):
                raise ValueError("not an object")
        except ValueError:
            self.unattributed["unreadable_dead_letter"] += 1
            return
        problems = letter.get("problems") or []
        codes = [p.get("code") for p in problems if isinstance(p, dict)]
        reason = str(letter.get("reason") or (codes[0] if codes else "unknown"))
        election_id = letter.get("election_id")
        if not election_id:
            self.unattributed[reason] += 1
            return
        if election_id != self.definition.election_id:
            self.elsewhere += 1
            return
        sender = letter.get("sender")
        if not isinstance(sender, dict):
            sender = {}
        self.rejected_by_reason[reason] += 1
        self.rejected.append(
            {
                "reason": reason,
                "codes": codes,
                "report_id": letter.get("report_id"),
                "sender": sender.get("credential_id"),
                "stage": letter.get("stage", "ingest"),
                "received_at": letter.get("received_at"),
                "delivered_at": self.at(record.timestamp_ms),
                "delivered_ms": record.timestamp_ms,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything, each list in delivery order (the log is read partition by partition)."""

        def by_time(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(items, key=lambda i: i["delivered_ms"])

        return {
            "counts": {
                "corrections": len(self.corrections),
                "stale": len(self.stale),
                "duplicates": len(self.duplicates),
                "conflicts": len(self.conflicts),
                "flags": len(self.flags),
                "rejected": sum(self.rejected_by_reason.values()),
            },
            "corrections": by_time(self.corrections),
            "stale": by_time(self.stale),
            "duplicates": by_time(self.duplicates),
            "conflicts": by_time(self.conflicts),
            "flags": by_time(self.flags),
            "rejected": {
                "by_reason": dict(self.rejected_by_reason.most_common()),
                "items": by_time(self.rejected),
                "unattributed": dict(self.unattributed.most_common()),
                "other_elections": self.elsewhere,
            },
        }


def _when(base: dict[str, Any]) -> dict[str, Any]:
    keep = ("region_id", "delivered_at", "delivered_ms", "reported_at", "revision", "kind")
    return {k: base[k] for k in keep}
