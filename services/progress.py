"""How far a long command has got: one line on stderr, drawn by progressbar2.

On a terminal the line is drawn once and redrawn in place, at most
`TERMINAL_EVERY_S` apart. When the stream is not a terminal (a pipe, a file,
a CI log) progressbar2 prints plain lines instead (its `line_breaks`), here
at most one every `PLAIN_EVERY_S` seconds plus the last one, so a log keeps
readable figures and no carriage returns.

A line shows the label, the share done (when the total is known: records,
or bytes of a file), the count and its rate, the figures the command adds
(`update(..., accepted=3, rejected=1)`), then the time left, or at the end
the time taken. `Progress` is silent unless enabled; commands enable it
through `votewire.command.progress_option` (`--progress`, or stderr is a
terminal). After `finish`, the next `set_total` or `update` starts a new
line (an audit draws one per pass).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, TextIO

import progressbar

TERMINAL_EVERY_S = 0.25
PLAIN_EVERY_S = 10.0


class _Counts(progressbar.widgets.WidgetBase):
    """`1,234 reports, 5,678/s, accepted 3, rejected 1`."""

    def __init__(self, owner: Progress) -> None:
        super().__init__()
        self.owner = owner

    def __call__(self, progress: Any, data: dict[str, Any]) -> str:
        records = self.owner.records
        elapsed = max(float(data["total_seconds_elapsed"]), 1e-9)
        text = f"{records:,} {self.owner.unit}, {records / elapsed:,.0f}/s"
        return text + "".join(f", {k} {v:,}" for k, v in self.owner.figures.items())


class Progress:
    """A progress line for one command (see the module doc)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        enabled: bool,
        total: int | None = None,
        total_bytes: int | None = None,
        unit: str = "reports",
        label: str = "",
        terminal: bool | None = None,
    ) -> None:
        self.unit = unit
        self.records = 0
        self.figures: dict[str, int] = {}
        self._stream = stream or sys.stderr
        self._enabled = enabled
        self._total, self._total_bytes = total, total_bytes
        self._label = f"{label}: " if label else ""
        self._terminal = self._stream.isatty() if terminal is None else terminal
        self._bar: progressbar.ProgressBar | None = None
        self._since = datetime.now()

    def set_total(self, total: int | None = None, total_bytes: int | None = None) -> None:
        """How much is coming, once known (e.g. after Kafka answered); the rate and the
        time left are measured from this call on."""
        self._close()
        self._total, self._total_bytes = total, total_bytes
        self._since = datetime.now()

    def update(self, records: int, done_bytes: int = 0, **figures: int) -> None:
        """Note progress; the line is redrawn only when the last draw is old enough."""
        if self._enabled:
            line = self._line()
            self.records, self.figures = records, figures
            line.update(self._value(records, done_bytes))

    def finish(self, records: int, done_bytes: int = 0, **figures: int) -> None:
        """Draw the final figures (as they are: not forced to 100 %) and end the line."""
        if self._enabled:
            line = self._line()
            self.records, self.figures = records, figures
            line.end_time = datetime.now()  # what the time widgets read as "finished"
            line.update(self._value(records, done_bytes), force=True)
            line.finish(dirty=True)
            self._bar = None

    def _value(self, records: int, done_bytes: int) -> int:
        return done_bytes if self._total_bytes else records

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.finish(dirty=True)
            self._bar = None

    def _line(self) -> progressbar.ProgressBar:
        """The current line; a new one is drawn at once as it stood at its start."""
        if self._bar is not None:
            return self._bar
        self.records, self.figures = 0, {}
        size = self._total_bytes or self._total
        widgets: list[Any] = [self._label] if self._label else []
        if size:
            widgets += [progressbar.Percentage(), " "]
        widgets += [_Counts(self), ", "]
        if size:
            widgets.append(
                progressbar.ETA(  # type: ignore[no-untyped-call]
                    format_not_started="ETA --:--",
                    format_finished="%(elapsed)s elapsed",
                    format="ETA %(eta)s",
                    format_zero="ETA 0:00:00",
                    format_na="ETA --:--",
                )
            )
        else:
            widgets.append(progressbar.Timer(format="%(elapsed)s elapsed"))
        bar = progressbar.ProgressBar(
            max_value=size or progressbar.UnknownLength,
            max_error=False,
            is_terminal=self._terminal,
            line_breaks=not self._terminal,
            enable_colors=False,
            min_poll_interval=TERMINAL_EVERY_S if self._terminal else PLAIN_EVERY_S,
            fd=self._stream,
            start_time=self._since,  # drawn from the first update, timed from here
        )
        # progressbar2 swaps sys.stderr for the stream it saw when first imported (for its
        # output redirection, unused here): write where this command was told to. It also
        # deep-copies widgets given to __init__; these must read this object's counts.
        bar.fd = self._stream
        bar.widgets = widgets
        self._bar = bar.start()
        return self._bar
