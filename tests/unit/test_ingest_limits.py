"""The per-credential token bucket of ingest, driven by an injected clock."""

from __future__ import annotations

import pytest
from votewire.ingest.auth import Credential, RateOverride
from votewire.ingest.limits import RateLimit, RateLimiter, TokenBucket, retry_after_header


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_grants_up_to_its_burst_then_refuses() -> None:
    """Starts full: `burst` tokens pass at once, the next one waits 1/rate."""
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert [bucket.take(1) for _ in range(5)] == [0.0] * 5
    assert bucket.take(1) == pytest.approx(0.1)


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    """Refill is rate x elapsed, capped at burst."""
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert bucket.take(5) == 0.0
    clock.now += 0.25
    assert bucket.take(2) == 0.0
    assert bucket.take(1) == pytest.approx(0.05)
    clock.now += 100
    assert bucket.take(5) == 0.0
    assert bucket.take(1) > 0


def test_a_refused_take_takes_nothing_and_says_how_long() -> None:
    """A refusal leaves the tokens; the wait is for the missing tokens only."""
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=10, clock=clock)
    assert bucket.take(8) == 0.0
    assert bucket.take(5) == pytest.approx(1.5)
    assert bucket.take(2) == 0.0


def test_a_cost_above_burst_is_a_configuration_error() -> None:
    """More than a full bucket could never pass: refused loudly, not retried forever."""
    bucket = TokenBucket(rate=1, burst=3, clock=FakeClock())
    with pytest.raises(ValueError, match="exceeds the burst"):
        bucket.take(4)


def test_the_limiter_keeps_one_bucket_per_credential() -> None:
    """One credential's burst does not spend another's tokens."""
    limiter = RateLimiter(RateLimit(1, 2), clock=FakeClock())
    a, b = Credential("a"), Credential("b")
    assert limiter.check(a, 2) == 0.0
    assert limiter.check(a, 1) > 0
    assert limiter.check(b, 2) == 0.0


def test_zero_rate_means_unlimited_and_overrides_win() -> None:
    """per_second 0 disables the limit; a credential's own rate replaces the default."""
    clock = FakeClock()
    unlimited = RateLimiter(RateLimit(0, 0), clock=clock)
    assert all(unlimited.check(Credential("a"), 10_000) == 0.0 for _ in range(100))
    limiter = RateLimiter(RateLimit(1000, 1000), clock=clock)
    slow = Credential("slow", rate=RateOverride(1, 2))
    free = Credential("free", rate=RateOverride(0, 0))
    assert limiter.check(slow, 2) == 0.0 and limiter.check(slow, 1) == pytest.approx(1.0)
    assert limiter.check(free, 1_000_000) == 0.0


def test_an_empty_request_still_costs_one_token() -> None:
    """A request with nothing in it (a malformed body) costs one token."""
    limiter = RateLimiter(RateLimit(1, 1), clock=FakeClock())
    assert limiter.check(Credential("a"), 0) == 0.0
    assert limiter.check(Credential("a"), 0) > 0


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (1.0, "1"), (1.01, "2"), (59.2, "60")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    """Retry-After is an integer, never 0, never shorter than the real wait."""
    assert retry_after_header(wait) == header
