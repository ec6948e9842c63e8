"""The election night of a kz-2021 scenario: turnout through the day, results after.

`simulate_night(definition, seed=..., faults=...)` returns the night as a
timeline (`timeline.Emitted`, in delivery order):

- Turnout: every precinct reports its cumulative ballots cast at each
  turnout mark, a few minutes after the mark (2 to 40 min, most within 10),
  stamped in its region's local time. Figures never decrease from one mark
  to the next and reach the precinct's final ballots cast at 20:00 (polls
  close then). Each region follows a day curve (about 14 % of its final
  ballots by 10:00, 36 % by 12:00, 58 %, 79 %, 93 %, 100 %, jittered per
  region); Jambyl is pinned to the published figures: 31.20 % of its
  registered voters by 12:00 ("over 30 %") and 78.70 % by 16:00.
- Results: every precinct sends its final protocol (`kz2021.Scenario`
  truth) through the night after 20:00 local, from about 20:40 to 05:00,
  larger precincts later.

Every clean report has revision 1 and a unique, deterministic `report_id`
(`timeline.report_id`). Folded together, the results reproduce the
published tables exactly (see `kz2021`). `faults` then adds duplicates,
corrections, reordering, late and malformed deliveries (`faults`); the
valid reports still fold to the same final figures.

Everything is a function of (definition, seed, faults): the night's clock
is the scenario's own timeline, never the wall clock.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from votewire.core.models import ElectionDefinition, ReportKind, ResultReport, TurnoutReport
from votewire.core.scenario.apportion import apportion
from votewire.core.scenario.faults import NO_FAULTS, FaultRates, inject_faults
from votewire.core.scenario.kz2021 import Scenario, kz2021_scenario
from votewire.core.scenario.national import PRESIDENT, is_national, national_scenario
from votewire.core.scenario.protocols import Protocol
from votewire.core.scenario.reference import load_reference
from votewire.core.scenario.timeline import Emitted, night_epoch, report_id

__all__ = ["TURNOUT_ANCHORS", "final_results", "night_of", "scenario_for", "simulate_night"]

_DAY_STEPS = (0.14, 0.22, 0.22, 0.21, 0.14, 0.07)
"""Share of a region's final ballots cast in each interval ending at a mark
(07:00-10:00, 10:00-12:00, ..., 18:00-20:00), before per-region jitter."""

TURNOUT_ANCHORS: dict[str, dict[str, float]] = {"jambyl": {"12:00": 0.312, "16:00": 0.787}}
"""region -> mark -> turnout (share of registered voters) pinned to published reports."""


def scenario_for(definition: ElectionDefinition, *, seed: int) -> Scenario:
    """The reference scenario whose definition is `definition` for this seed:
    kz-2021 (the scale read off the number of races) or national (the precincts
    and regions read off the definition). Raises `ValueError` if `definition` is
    not that scenario's definition (e.g. another seed).
    """
    if is_national(definition):
        president = definition.race(PRESIDENT)
        precincts = len(president.precincts) if president else 0
        national = national_scenario(precincts, len(definition.regions), seed)
        if national.definition != definition:
            raise ValueError(f"not the national definition of seed {seed}")
        return national
    races_at_scale_1 = sum(r.akims_elected for r in load_reference().regions)
    scale = max(1, len(definition.races) // races_at_scale_1)
    scenario = kz2021_scenario(seed, scale)
    if scenario.definition is not definition and scenario.definition != definition:
        raise ValueError(f"not the kz-2021 definition of seed {seed} (scale {scale})")
    return scenario


def simulate_night(
    definition: ElectionDefinition, *, seed: int = 2021, faults: FaultRates = NO_FAULTS
) -> list[Emitted]:
    """The night of `kz2021_definition(seed, scale)`, in delivery order (see module doc)."""
    return night_of(scenario_for(definition, seed=seed), faults=faults)


def night_of(scenario: Scenario, *, faults: FaultRates = NO_FAULTS) -> list[Emitted]:
    """The night of any reference `scenario` (see the module doc)."""
    definition, seed = scenario.definition, scenario.seed
    epoch = night_epoch(definition)
    night = [_emitted(r, epoch) for r in _turnout(scenario)]
    night += [_emitted(r, epoch) for r in _results(scenario)]
    if faults.any:
        night = inject_faults(night, definition, faults, random.Random(f"faults:{seed}"))
    night.sort(key=lambda e: e.offset_seconds)
    return night


def final_results(definition: ElectionDefinition, *, seed: int = 2021) -> list[ResultReport]:
    """The clean result reports of the night (one per precinct, revision 1)."""
    return _results(scenario_for(definition, seed=seed))


def _emitted(report: TurnoutReport | ResultReport, epoch: datetime) -> Emitted:
    return Emitted((report.reported_at - epoch).total_seconds(), report)


def _local(definition: ElectionDefinition, region_id: str, mark: str) -> datetime:
    """`mark` ("HH:MM") on polling day in the region's own zone."""
    hour, minute = (int(x) for x in mark.split(":"))
    zone = ZoneInfo(definition.timezone_of(region_id))
    return datetime.combine(date.fromisoformat(definition.date), time(hour, minute), tzinfo=zone)


def _ids(scenario: Scenario) -> Callable[[Protocol, ReportKind, str], str]:
    """Report ids of the night: `timeline.report_id`, prefixed with "<race_id>/" where
    a precinct id is in more than one race (national: president and a local race)."""
    seen: Counter[str] = Counter(p.precinct_id for p in scenario.protocols)

    def make(p: Protocol, kind: ReportKind, mark: str) -> str:
        plain = report_id(p.precinct_id, kind, mark, 1)
        return f"{p.race_id}/{plain}" if seen[p.precinct_id] > 1 else plain

    return make


def _region_of(scenario: Scenario) -> dict[tuple[str, str], str]:
    """(race_id, precinct_id) -> the precinct's region."""
    definition = scenario.definition
    return {
        (r.race_id, p.precinct_id): definition.region_of(r, p)
        for r in definition.races
        for p in r.precincts
    }


def _mark_totals(
    anchors: dict[str, float],
    marks: tuple[str, ...],
    registered: int,
    ballots: int,
    rng: random.Random,
) -> list[int]:
    """Region-wide cumulative ballots at each mark, ascending, the last = `ballots`.

    The day's steps are jittered per region; published anchors are pinned and
    the marks between two pinned points share the difference by their steps.
    Anchors must be ascending and below the final turnout.
    """
    steps = [s * rng.uniform(0.8, 1.2) for s in _DAY_STEPS]
    pinned = {-1: 0, len(marks) - 1: ballots}
    pinned.update({i: round(anchors[m] * registered) for i, m in enumerate(marks) if m in anchors})
    totals = [0] * len(marks)
    points = sorted(pinned)
    for a, b in itertools.pairwise(points):
        span = sum(steps[a + 1 : b + 1])
        done = 0.0
        for i in range(a + 1, b + 1):
            done += steps[i]
            totals[i] = pinned[a] + round((pinned[b] - pinned[a]) * done / span)
    return totals


def _turnout(scenario: Scenario) -> list[TurnoutReport]:
    """Cumulative turnout per precinct and mark: built backwards from the final
    ballots, each mark's region total split under the next mark's figures."""
    rng = random.Random(f"turnout:{scenario.seed}:{scenario.scale}")
    definition = scenario.definition
    ids = _ids(scenario)
    marks = definition.turnout_marks
    region_of = _region_of(scenario)
    by_region: dict[str, list[Protocol]] = {}
    for p in scenario.protocols:
        by_region.setdefault(region_of[p.race_id, p.precinct_id], []).append(p)
    reports = []
    for region_id, protocols in by_region.items():
        final = [p.ballots_cast for p in protocols]
        registered = sum(p.registered for p in protocols)
        # The published anchors are kz-2021's; other scenarios follow the day curve.
        anchors = {} if is_national(definition) else TURNOUT_ANCHORS.get(region_id, {})
        totals = _mark_totals(anchors, marks, registered, sum(final), rng)
        columns = [final]
        for total in reversed(totals[:-1]):
            after = columns[0]
            weights = [a * rng.uniform(0.8, 1.2) for a in after]
            columns.insert(0, apportion(total, weights, after))
        for m, mark in enumerate(marks):
            at = _local(definition, region_id, mark)
            for p, ballots in zip(protocols, columns[m], strict=True):
                delay = 120 + min(2280, int(rng.expovariate(1 / 420)))
                reports.append(
                    TurnoutReport(
                        report_id=ids(p, "turnout", mark),
                        election_id=definition.election_id,
                        race_id=p.race_id,
                        precinct_id=p.precinct_id,
                        mark=mark,
                        ballots_cast=ballots,
                        revision=1,
                        reported_at=at + timedelta(seconds=delay),
                    )
                )
    return reports


def _results(scenario: Scenario) -> list[ResultReport]:
    """Final protocols, sent after the close; counting takes longer with more ballots."""
    rng = random.Random(f"results:{scenario.seed}:{scenario.scale}")
    definition = scenario.definition
    ids = _ids(scenario)
    close = definition.turnout_marks[-1]
    region_of = _region_of(scenario)
    reports = []
    for p in scenario.protocols:
        region_id = region_of[p.race_id, p.precinct_id]
        counting = 2400 + p.ballots_cast * 3.6 * rng.uniform(0.6, 1.6)
        delay = min(9 * 3600, int(counting + rng.expovariate(1 / 2400)))
        reports.append(
            ResultReport(
                report_id=ids(p, "result", ""),
                election_id=definition.election_id,
                race_id=p.race_id,
                precinct_id=p.precinct_id,
                registered=p.registered,
                ballots_cast=p.ballots_cast,
                votes=dict(p.votes),
                against_all=p.against_all,
                invalid=p.invalid,
                revision=1,
                reported_at=_local(definition, region_id, close) + timedelta(seconds=delay),
            )
        )
    return reports
