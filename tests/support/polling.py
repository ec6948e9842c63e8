"""Deadline-bounded waiting: tests poll for a condition, they never sleep blindly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], deadline_s: float, what: str) -> T:
    """Await `probe()` until it returns something truthy; fail naming `what` at the deadline."""
    start = time.monotonic()
    delay = 0.02
    last: T | None = None
    while time.monotonic() - start < deadline_s:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(delay)  # deadline-poll
        delay = min(delay * 1.5, 0.25)
    raise AssertionError(f"timed out after {deadline_s:.0f}s waiting for {what}; last: {last!r}")
