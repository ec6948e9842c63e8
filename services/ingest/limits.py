"""Per-credential rate limits: one token bucket per credential, in this process.

A bucket holds up to `burst` tokens and refills at `rate` tokens per second;
a request costs one token per report it carries (at least one). A request
that finds too few tokens takes none and is told how long to wait
(`Retry-After`). Time comes from an injected monotonic clock.

The buckets live in the process: with N ingest processes behind a balancer
a credential may send up to N times the configured rate. That is the
intended trade (no Redis round trip per request); the limit exists to stop a
runaway client, not to meter fairly to the report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from votewire.ingest.auth import Credential

Clock = Callable[[], float]


class TokenBucket:
    """`rate` tokens per second, at most `burst` stored; starts full."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self, cost: int) -> float:
        """Take `cost` tokens and return 0.0, or take none and return the seconds
        until `cost` tokens will be there. A cost above `burst` could never be
        granted: `ValueError` (configuration keeps burst >= the batch limit)."""
        if cost > self.burst:
            raise ValueError(f"a cost of {cost} exceeds the burst of {self.burst}")
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if cost <= self._tokens:
            self._tokens -= cost
            return 0.0
        return max((cost - self._tokens) / self.rate, 1e-3)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The default per-credential limit; `per_second` 0 means unlimited."""

    per_second: int
    burst: int


class RateLimiter:
    """Buckets per credential id, created on first use (credentials are a finite,
    configured set, so the map stays bounded)."""

    def __init__(self, default: RateLimit, clock: Clock = time.monotonic) -> None:
        self.default = default
        self._clock = clock
        self._buckets: dict[str, TokenBucket | None] = {}

    def check(self, credential: Credential, cost: int) -> float:
        """0.0 if `credential` may send `cost` reports now, else seconds to wait."""
        key = credential.credential_id
        if key not in self._buckets:
            self._buckets[key] = self._new_bucket(credential)
        bucket = self._buckets[key]
        return 0.0 if bucket is None else bucket.take(max(1, cost))

    def _new_bucket(self, credential: Credential) -> TokenBucket | None:
        limit = credential.rate or self.default
        if limit.per_second <= 0:
            return None
        return TokenBucket(limit.per_second, limit.burst, self._clock)


def retry_after_header(wait_s: float) -> str:
    """HTTP `Retry-After` in whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
