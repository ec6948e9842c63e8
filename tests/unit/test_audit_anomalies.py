"""The anomaly list: corrections, stale and duplicate reports, flags, rejections."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from builders import reference, result, turnout
from votewire.core.codec import report_to_bytes
from votewire.core.models import Report
from votewire.core.report_headers import credential_headers
from votewire.core.scenario import FaultRates, simulate_night
from votewire.replay.audit_anomalies import AnomalyCollector
from votewire.replay.log_fold import LogFold
from votewire.replay.log_records import LogRecord

from tests.support.night_log import kz_night

T0 = 1_627_185_600_000  # 2021-07-25T10:00+06:00


def record(offset: int, report: Report, minutes: int, sender: str | None = None) -> LogRecord:
    key = f"{report.election_id}/{report.race_id}".encode()
    headers = tuple(credential_headers(sender)) if sender else ()
    return LogRecord(0, offset, T0 + minutes * 60_000, key, report_to_bytes(report), 0, headers)


def collect(
    reports: Sequence[tuple[Report, int] | tuple[Report, int, str]], letters: Sequence[bytes] = ()
) -> dict[str, Any]:
    defn = reference()
    collector = AnomalyCollector(defn)
    fold = LogFold({defn.election_id: defn}, observer=collector)
    for i, (report, minutes, *sender) in enumerate(reports):
        assert fold.offer(record(i, report, minutes, *sender))
    for i, value in enumerate(letters):
        collector.on_dead_letter(LogRecord(0, i, T0 + i, b"sender", value))
    return collector.to_dict()


def test_a_correction_names_who_when_and_what_changed() -> None:
    """Revision 2 replacing revision 1: commission, both deliveries, old and new figures."""
    doc = collect(
        [
            (turnout("N1", "P1", "10:00", 150), 5),
            (turnout("N1", "P1", "10:00", 140, revision=2), 30),
        ]
    )
    [c] = doc["corrections"]
    assert c["commission"] == "N1/P1"
    assert c["region_id"] == "N"
    assert (c["old_revision"], c["revision"]) == (1, 2)
    assert c["old_delivered_at"] == "2021-07-25T10:05:00+06:00"
    assert c["delivered_at"] == "2021-07-25T10:30:00+06:00"
    assert (c["old"], c["new"]) == ({"ballots_cast": 150}, {"ballots_cast": 140})
    assert c["changes"] == ["ballots_cast: 150 -> 140"]


def test_a_correction_names_the_credential_behind_it_and_behind_what_it_replaced() -> None:
    """The record header of each report names its sender: the correction's and the replaced
    report's credentials are both listed; a record without the header names none."""
    doc = collect(
        [
            (turnout("N1", "P1", "10:00", 150), 5, "akmola-tec"),
            (turnout("N1", "P1", "10:00", 140, revision=2), 30, "akmola-desk"),
            (turnout("N1", "P1", "12:00", 200), 125),
            (turnout("N1", "P1", "12:00", 210, revision=2), 130),
        ]
    )
    first, second = doc["corrections"]
    assert (first["credential"], first["old_credential"]) == ("akmola-desk", "akmola-tec")
    assert (second["credential"], second["old_credential"]) == (None, None)


def test_a_result_correction_lists_changed_votes() -> None:
    """Votes moved between candidates show per candidate."""
    doc = collect(
        [
            (result("N1", "P1", {"A": 500, "B": 200}, against_all=30, invalid=20), 700),
            (result("N1", "P1", {"A": 480, "B": 220}, against_all=30, invalid=20, revision=2), 760),
        ]
    )
    assert doc["corrections"][0]["changes"] == ["votes.A: 500 -> 480", "votes.B: 200 -> 220"]


def test_stale_and_duplicate_reports() -> None:
    """A lower revision after the winner is stale; a re-sent winner is a duplicate."""
    late = turnout("N1", "P1", "10:00", 155, report_id="late-r1")
    doc = collect(
        [
            (turnout("N1", "P1", "10:00", 140, revision=2), 10),
            (late, 50),
            (turnout("N1", "P1", "10:00", 140, revision=2), 55),
        ]
    )
    assert doc["corrections"] == []
    [stale] = doc["stale"]
    assert (stale["report_id"], stale["winner_revision"]) == ("late-r1", 2)
    [dup] = doc["duplicates"]
    assert dup["of_report_id"] == "t-N1-P1-10:00-r2"


def test_soft_flags_are_listed_with_their_figures() -> None:
    """Turnout falling between marks, and a result below the last turnout."""
    doc = collect(
        [
            (turnout("N1", "P1", "10:00", 300), 5),
            (turnout("N1", "P1", "12:00", 250), 125),
            (result("N1", "P1", {"A": 100, "B": 100}), 700),
        ]
    )
    codes = [f["code"] for f in doc["flags"]]
    assert codes == ["turnout_decreased", "result_below_turnout"]
    assert doc["flags"][0]["figures"]["earlier_ballots_cast"] == 300
    assert doc["flags"][1]["delivered_at"] == "2021-07-25T21:40:00+06:00"


def test_rejections_are_counted_by_reason() -> None:
    """Dead letters of this election by reason (ingest's and the aggregate's), with sender
    and codes; another election's are left out, those naming none counted apart."""
    ingest = {
        "election_id": "kz-test",
        "received_at": "2021-07-25T04:00:00+00:00",
        "sender": {"credential_id": "akmola-tec", "via": "http", "peer": None},
        "report_id": "x/r1",
        "reason": "sum_mismatch",
        "problems": [{"code": "sum_mismatch", "field": None, "message": "..."}],
        "payload": "{}",
        "payload_truncated": False,
    }
    aggregate = {"stage": "aggregate", "reason": "misrouted", "election_id": "kz-test"}
    other = {**ingest, "election_id": "other-2026", "reason": "unknown_race"}
    nameless = {**ingest, "election_id": None, "reason": "malformed_json"}
    letters = [ingest, aggregate, other, nameless, nameless]
    doc = collect([], [*(json.dumps(x).encode() for x in letters), b"\xff not json"])
    assert doc["rejected"]["by_reason"] == {"sum_mismatch": 1, "misrouted": 1}
    assert doc["counts"]["rejected"] == 2 and doc["rejected"]["other_elections"] == 1
    assert doc["rejected"]["unattributed"] == {
        "malformed_json": 2,
        "unreadable_dead_letter": 1,
    }
    first = doc["rejected"]["items"][0]
    assert (first["sender"], first["codes"], first["stage"]) == (
        "akmola-tec",
        ["sum_mismatch"],
        "ingest",
    )


def test_the_faulty_night_anomalies_match_its_faults() -> None:
    """On the simulated night: one correction per correction that beat its wrong figures,
    a stale report per held-up wrong figure, every malformed report rejected by its code."""
    definition, log = kz_night(0.05)
    night = simulate_night(definition, seed=2021, faults=FaultRates.uniform(0.05))
    faults = Counter(e.fault for e in night)
    collector = AnomalyCollector(definition)
    fold = LogFold({definition.election_id: definition}, observer=collector)
    fold.offer_all(log.reports)
    for letter in log.dead_letters:
        collector.on_dead_letter(letter)
    doc = collector.to_dict()
    assert doc["counts"]["corrections"] == faults["correction"] - faults["stale"]
    assert doc["counts"]["stale"] == faults["stale"]
    malformed = Counter(
        str(f).split(":", 1)[1] for f in faults.elements() if str(f).startswith("malformed:")
    )
    mistyped = malformed.pop("unknown_election")  # their letters name another election
    assert doc["rejected"]["by_reason"] == dict(malformed.most_common())
    assert doc["rejected"]["other_elections"] == mistyped > 0
