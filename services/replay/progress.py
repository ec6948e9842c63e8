"""A small self-written progress line for long offline runs.

`Progress` rewrites one stderr line ("\\r...") at most `per_second` times a
second, so updating it on every record costs only a clock read. It stays
silent unless enabled (the caller decides: stderr is a TTY, or --progress).
The clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        total_bytes: int | None = None,
        per_second: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._total = total_bytes
        self._interval = 1.0 / per_second
        self._clock = clock
        self._start = clock()
        self._next = self._start + self._interval
        self._shown = False

    def update(self, records: int, done_bytes: int) -> None:
        """Note progress; redraws only if the last redraw is old enough."""
        if not self._enabled:
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._interval
        self._draw(records, done_bytes, now)

    def finish(self, records: int, done_bytes: int) -> None:
        """Draw the final figures and end the line (only if anything was drawn)."""
        if self._enabled and self._shown:
            self._draw(records, done_bytes, self._clock())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, records: int, done_bytes: int, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        text = f"{records:,} reports, {records / elapsed:,.0f}/s"
        if self._total:
            text = f"{min(100, done_bytes * 100 // self._total):3d}% {text}"
        self._stream.write(f"\r{text}   ")
        self._stream.flush()
        self._shown = True
