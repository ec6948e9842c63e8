"""Fault injection: the night as a real wire delivers it, not as commissions meant it.

`inject_faults(night, definition, rates, rng)` takes a clean night (valid
reports, revision 1) and, for each report independently, with the given
probabilities:

- `corrections`: the report is first sent with wrong but valid figures
  (turnout off by 3-20 %, or some votes moved between two ballot lines, sums
  intact) at revision 1, then with the right figures at revision 2, 5 to 60
  minutes later, under a new report_id. With probability `late`, the wrong
  revision 1 is held up on the wire and first arrives after the correction
  (a stale report, which must not displace it).
- `late`: delivered 30 minutes to 6 hours after it was sent.
- `reorder` (if not late): delivered up to 10 minutes after it was sent, so
  it slips behind reports sent after it ("shuffle within windows").
- `duplicates`: the exact same report (same report_id, same figures) is
  delivered again up to 10 minutes later.
- `malformed`: a broken copy of the report (raw dict, own report_id) is
  delivered near it: a wrong type, unknown election/race/precinct/mark or
  candidate, a missing or unknown field, a negative count, a naive
  timestamp, revision 0, ballots over the registered voters, or a sum that
  does not add up. Each must be rejected by `validate_report` with the code
  named in its `Emitted.fault` ("malformed:<code>").

The valid reports of the result still fold to exactly the clean night's
final figures: every slot's highest revision carries the right figures.
The output is sorted by delivery time (stable).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import timedelta

from votewire.core.codec import encode_report
from votewire.core.models import ElectionDefinition, Report, ResultReport, TurnoutReport
from votewire.core.scenario.timeline import Emitted, JSONObject

__all__ = ["MALFORMATIONS", "NO_FAULTS", "FaultRates", "inject_faults"]


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Per-report probabilities of each fault, each in [0, 1]."""

    duplicates: float = 0.0
    corrections: float = 0.0
    reorder: float = 0.0
    late: float = 0.0
    malformed: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {f.name} must be in [0, 1], got {value}")

    @classmethod
    def uniform(cls, rate: float) -> FaultRates:
        """Every fault at the same rate (the command's `--faults RATE`)."""
        return cls(rate, rate, rate, rate, rate)

    @property
    def any(self) -> bool:
        """True if some fault can happen."""
        return any(getattr(self, f.name) > 0 for f in fields(self))


NO_FAULTS = FaultRates()

_Breaker = Callable[[JSONObject, ElectionDefinition, random.Random], None]


def _wrong_type(obj: JSONObject, _d: ElectionDefinition, rng: random.Random) -> None:
    obj["ballots_cast"] = rng.choice([str(obj["ballots_cast"]), float(obj["ballots_cast"]), None])


def _unknown_precinct(obj: JSONObject, d: ElectionDefinition, rng: random.Random) -> None:
    race = d.race(obj["race_id"])
    others = [r for r in d.races if r is not race]
    # Another race's precinct, unless the races share precincts (national): then none.
    other = rng.choice(others).precincts[:3] if others else ()
    found = next(
        (p.precinct_id for p in other if not d.precinct(obj["race_id"], p.precinct_id)), None
    )
    obj["precinct_id"] = found or f"{obj['precinct_id']}-nowhere"


def _missing_field(obj: JSONObject, _d: ElectionDefinition, rng: random.Random) -> None:
    del obj[rng.choice(["reported_at", "revision", "ballots_cast", "precinct_id"])]


def _unknown_field(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["comment"] = "перепроверить"


def _negative(obj: JSONObject, _d: ElectionDefinition, rng: random.Random) -> None:
    obj["ballots_cast"] = -rng.randint(1, 500)


def _naive_time(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["reported_at"] = obj["reported_at"][:19]


def _revision_zero(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["revision"] = 0


def _other_election(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["election_id"] = "kz-2023-district-akims"


def _unknown_race(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["race_id"] = obj["race_id"] + "-x"


def _unknown_mark(obj: JSONObject, _d: ElectionDefinition, rng: random.Random) -> None:
    obj["mark"] = rng.choice(["10:30", "21:00", "noon"])


def _too_many_ballots(obj: JSONObject, d: ElectionDefinition, _r: random.Random) -> None:
    precinct = d.precinct(obj["race_id"], obj["precinct_id"])
    registered = precinct.registered if precinct else 0
    obj["ballots_cast"] = 2 * registered + 100


def _sum_mismatch(obj: JSONObject, _d: ElectionDefinition, rng: random.Random) -> None:
    obj["invalid"] += rng.randint(1, 30)


def _unknown_candidate(obj: JSONObject, _d: ElectionDefinition, _r: random.Random) -> None:
    obj["votes"][obj["race_id"] + "-c99"] = 0


MALFORMATIONS: dict[str, tuple[tuple[str, _Breaker], ...]] = {
    "any": (
        ("wrong_type", _wrong_type),
        ("unknown_precinct", _unknown_precinct),
        ("missing_field", _missing_field),
        ("unknown_field", _unknown_field),
        ("negative_count", _negative),
        ("bad_timestamp", _naive_time),
        ("bad_revision", _revision_zero),
        ("unknown_election", _other_election),
        ("unknown_race", _unknown_race),
    ),
    "turnout": (
        ("unknown_mark", _unknown_mark),
        ("ballots_exceed_registered", _too_many_ballots),
    ),
    "result": (
        ("sum_mismatch", _sum_mismatch),
        ("unknown_candidate", _unknown_candidate),
    ),
}
"""Ways to break a report, by kind: (validation code it must be rejected with, how)."""


def _malformed(report: Report, d: ElectionDefinition, rng: random.Random) -> Emitted:
    obj = copy.deepcopy(encode_report(report))
    code, breaker = rng.choice(MALFORMATIONS["any"] + MALFORMATIONS[report.kind])
    obj["report_id"] = f"{report.report_id}/bad"
    breaker(obj, d, rng)
    return Emitted(0.0, obj, f"malformed:{code}")


def _wrong_figures(report: Report, d: ElectionDefinition, rng: random.Random) -> Report | None:
    """A plausible wrong version of `report` that still passes validation, or None."""
    if isinstance(report, TurnoutReport):
        precinct = d.precinct(report.race_id, report.precinct_id)
        ceiling = precinct.registered if precinct else report.ballots_cast
        b = report.ballots_cast
        d_ = max(1, round(b * rng.uniform(0.03, 0.2)))
        options = [v for v in (b + d_, b - d_) if 0 <= v <= ceiling]
        return replace(report, ballots_cast=rng.choice(options)) if options else None
    assert isinstance(report, ResultReport)
    lines = {**report.votes, "": report.against_all, "-": report.invalid}
    sources = [k for k, v in lines.items() if v > 0]
    if not sources or len(lines) < 2:
        return None
    source = rng.choice(sources)
    target = rng.choice([k for k in lines if k != source])
    moved = max(1, round(lines[source] * rng.uniform(0.05, 0.3)))
    lines[source] -= moved
    lines[target] += moved
    against_all, invalid = lines.pop(""), lines.pop("-")
    return replace(report, votes=lines, against_all=against_all, invalid=invalid)


def inject_faults(
    night: Sequence[Emitted], definition: ElectionDefinition, rates: FaultRates, rng: random.Random
) -> list[Emitted]:
    """The faulty night (see module doc); `night` holds clean reports only."""
    out: list[Emitted] = []
    for clean in night:
        report = clean.payload
        if isinstance(report, dict):
            raise ValueError("inject_faults expects a clean night of reports")
        sent = clean.offset_seconds
        delay, label = 0, None
        if rng.random() < rates.late:
            delay, label = rng.randint(1800, 6 * 3600), "late"
        elif rng.random() < rates.reorder:
            delay, label = rng.randint(1, 600), "reordered"
        wrong = (
            _wrong_figures(report, definition, rng) if rng.random() < rates.corrections else None
        )
        final = report
        if wrong is not None:
            fix = rng.randint(300, 3600)
            final = replace(
                report,
                report_id=_revised(report.report_id, 2),
                revision=2,
                reported_at=report.reported_at + timedelta(seconds=fix),
            )
            if rng.random() < rates.late:
                stale_at = sent + fix + delay + rng.randint(60, 3600)
                out.append(Emitted(stale_at, wrong, "stale"))
            else:
                out.append(Emitted(sent, wrong, "wrong_figures"))
            sent += fix
            label = "correction"
        out.append(Emitted(sent + delay, final, label))
        if rng.random() < rates.duplicates:
            out.append(Emitted(sent + delay + rng.randint(1, 600), final, "duplicate"))
        if rng.random() < rates.malformed:
            broken = _malformed(final, definition, rng)
            at = max(0.0, clean.offset_seconds + rng.randint(-120, 300))
            out.append(replace(broken, offset_seconds=at))
    out.sort(key=lambda e: e.offset_seconds)
    return out


def _revised(rid: str, revision: int) -> str:
    """The id of another revision of the report `rid` (ids end "/r<revision>",
    `timeline.report_id`, with or without a race prefix)."""
    return f"{rid.rpartition('/r')[0]}/r{revision}"
