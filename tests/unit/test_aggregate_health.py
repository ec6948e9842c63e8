"""The aggregate's health rules: stalled only with unfolded input, no flapping after a restart."""

from __future__ import annotations

import pytest
from faust.transport.consumer import Consumer
from votewire.aggregate.health import HealthRules, Offsets, Phase
from votewire.aggregate.lag import check_consumer, frontier
from votewire.aggregate.metrics import Metrics

RUNNING, RECOVERING = Phase.RUNNING, Phase.RECOVERING


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def statuses(rules: HealthRules, clock: Clock, seconds: int, phase: Phase, parts: dict) -> set:
    """Every verdict status of one observation a second for `seconds`."""
    seen = set()
    for _ in range(seconds):
        clock.now += 1
        seen.add(rules.observe(phase, parts).status)
    return seen


def test_a_restart_with_everything_folded_is_ok_for_as_long_as_it_runs(clock: Clock) -> None:
    """Committed offsets equal the ends and nothing arrives: ok every second for an hour."""
    rules = HealthRules(clock, stall_s=60)
    folded = {"reports:0": Offsets(end=5000, done=5000), "reports:1": Offsets(800, 800)}
    assert statuses(rules, clock, 20, RECOVERING, folded) == {"recovering"}
    assert statuses(rules, clock, 3600, RUNNING, folded) == {"ok"}


def test_recovery_never_counts_towards_a_stall(clock: Clock) -> None:
    """Input waits through ten minutes of recovery: alive, not ready; then the stall clock
    starts from zero when the worker runs."""
    rules = HealthRules(clock, stall_s=60)
    waiting = {"reports:0": Offsets(end=900, done=100)}
    for _ in range(600):
        clock.now += 1
        verdict = rules.observe(RECOVERING, waiting)
        assert (verdict.alive, verdict.ready, verdict.status) == (True, False, "recovering")
    assert statuses(rules, clock, 60, RUNNING, waiting) == {"ok"}
    clock.now += 1
    assert rules.observe(RUNNING, waiting).status == "stalled"


def test_stalled_only_while_waiting_input_is_not_folded(clock: Clock) -> None:
    """Input waits and the folded offset does not move for stall_s: stalled, not alive.
    As soon as it moves, ok again."""
    rules = HealthRules(clock, stall_s=60)
    stuck = {"reports:0": Offsets(end=120, done=100), "reports:1": Offsets(50, 50)}
    assert statuses(rules, clock, 60, RUNNING, stuck) == {"ok"}
    clock.now += 1
    verdict = rules.observe(RUNNING, stuck)
    assert (verdict.status, verdict.alive, verdict.ready) == ("stalled", False, False)
    assert verdict.stalled == ("reports:0",) and verdict.pending == 20
    moved = {"reports:0": Offsets(end=130, done=101), "reports:1": Offsets(50, 50)}
    assert rules.observe(RUNNING, moved).status == "ok"


def test_steady_folding_behind_a_backlog_is_never_a_stall(clock: Clock) -> None:
    """Lag stays high for an hour but the folded offset advances every second: ok."""
    rules = HealthRules(clock, stall_s=60)
    seen = set()
    for second in range(3600):
        clock.now += 1
        parts = {"reports:0": Offsets(end=100_000 + second, done=10 * second)}
        seen.add(rules.observe(RUNNING, parts).status)
    assert seen == {"ok"}


def test_a_burst_after_an_idle_hour_is_not_stalled_on_arrival(clock: Clock) -> None:
    """The stall clock starts when input is first seen waiting, not at the last batch."""
    rules = HealthRules(clock, stall_s=60)
    assert statuses(rules, clock, 3600, RUNNING, {"reports:0": Offsets(10, 10)}) == {"ok"}
    burst = {"reports:0": Offsets(end=510, done=10)}
    assert statuses(rules, clock, 60, RUNNING, burst) == {"ok"}


def test_unknown_partitions_are_not_lag(clock: Clock) -> None:
    """No offsets known yet (no assignment, no fetch): ok, pending 0, whatever the time."""
    rules = HealthRules(clock, stall_s=60)
    assert statuses(rules, clock, 600, RUNNING, {}) == {"ok"}


def test_redis_failing_past_the_grace_is_not_ready_but_alive(clock: Clock) -> None:
    """A Redis outage makes the worker unready; a restart would not help, so it stays alive."""
    rules = HealthRules(clock, stall_s=60, redis_grace_s=10)
    rules.redis_failed()
    clock.now += 5
    assert rules.observe(RUNNING, {}).status == "ok"
    clock.now += 6
    verdict = rules.observe(RUNNING, {})
    assert (verdict.status, verdict.alive, verdict.ready) == ("redis_unreachable", True, False)
    rules.redis_ok()
    assert rules.observe(RUNNING, {}).status == "ok"


def test_the_frontier_is_past_acks_and_never_behind_the_committed_offset() -> None:
    """done = max(committed, highest ack + 1); a group that never committed starts at 0."""
    assert frontier(None, []) == 0
    assert frontier(700, []) == 700
    assert frontier(700, [700, 701, 702]) == 703
    assert frontier(None, [0, 1]) == 2


def test_faust_still_has_what_the_lag_reader_needs() -> None:
    """The consumer attributes lag.py reads exist; a faust without them is refused."""
    check_consumer(Consumer)

    class Renamed:
        _acked: dict

    with pytest.raises(RuntimeError, match="_committed_offset"):
        check_consumer(Renamed)


def test_the_lag_only_verdict_of_metrics_stalls_on_unchanging_lag(clock: Clock) -> None:
    """Metrics.health(lag): lag that changes is progress; the same lag for stall_s stalls."""
    metrics = Metrics(clock, stall_s=60)
    for behind in range(100, 40, -1):
        clock.now += 1
        assert metrics.health({"reports:0": behind}) == (True, "ok")
    for _ in range(61):
        clock.now += 1
        verdict = metrics.health({"reports:0": 40})
    assert verdict == (False, "stalled")
    assert metrics.health({"reports:0": 0}) == (True, "ok")
