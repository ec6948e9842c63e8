"""A small self-written progress line for long offline runs.

`Progress` rewrites one stderr line ("\\r...") at most `per_second` times a
second, so updating it on every record costs only a clock read. It shows the
count, the rate and, when the total is known (records with `total`, or bytes
with `total_bytes`), the percentage and the time left (ETA: the elapsed time
scaled by the part still to do). It stays silent unless enabled (the caller
decides: stderr is a TTY, or --progress). The clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    """ "0:07", "12:30", "1:02:03"."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        total_bytes: int | None = None,
        total: int | None = None,
        unit: str = "reports",
        label: str = "",
        per_second: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._total_bytes = total_bytes
        self._total = total
        self._unit = unit
        self._label = f"{label}: " if label else ""
        self._interval = 1.0 / per_second
        self._clock = clock
        self._start = clock()
        self._next = self._start + self._interval
        self._shown = False

    def set_total(self, total: int | None = None, total_bytes: int | None = None) -> None:
        """Tell the bar how much is coming, once known (e.g. after Kafka answered);
        the rate and ETA are measured from this call on."""
        self._total, self._total_bytes = total, total_bytes
        self._start = self._clock()
        self._next = self._start + self._interval

    def update(self, records: int, done_bytes: int = 0) -> None:
        """Note progress; redraws only if the last redraw is old enough."""
        if not self._enabled:
            return
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._interval
        self._draw(records, done_bytes, now, final=False)

    def finish(self, records: int, done_bytes: int = 0) -> None:
        """Draw the final figures and end the line (only if anything was drawn)."""
        if self._enabled and self._shown:
            self._draw(records, done_bytes, self._clock(), final=True)
            self._stream.write("\n")
            self._stream.flush()

    def _fraction(self, records: int, done_bytes: int) -> float | None:
        if self._total_bytes:
            return min(1.0, done_bytes / self._total_bytes)
        if self._total:
            return min(1.0, records / self._total)
        return None

    def _draw(self, records: int, done_bytes: int, now: float, *, final: bool) -> None:
        elapsed = max(now - self._start, 1e-9)
        text = f"{records:,} {self._unit}, {records / elapsed:,.0f}/s"
        fraction = self._fraction(records, done_bytes)
        if fraction is not None:
            text = f"{int(fraction * 100):3d}% {text}"
        if final:
            text += f", {_duration(elapsed)} elapsed"
        elif fraction:
            text += f", ETA {_duration(elapsed * (1 - fraction) / fraction)}"
        self._stream.write(f"\r{self._label}{text}   ")
        self._stream.flush()
        self._shown = True
