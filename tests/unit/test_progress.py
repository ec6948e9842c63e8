"""The progress line (progressbar2): one line redrawn on a terminal, plain lines in a log."""

from __future__ import annotations

import io

from votewire.progress import Progress


def test_not_a_terminal_gets_plain_lines_and_the_final_figures() -> None:
    """A stream that is not a terminal gets whole lines, never a carriage return; the last
    one has the final count as given (not forced to 100 %), the figures and the time."""
    stream = io.StringIO()
    line = Progress(stream, enabled=True, total=1000, unit="records", label="replay")
    line.update(250, accepted=250)
    line.finish(900, accepted=899, rejected=1)
    text = stream.getvalue()
    assert "\r" not in text and text.endswith("\n")
    assert text.splitlines()[-1].startswith("replay:  90% 900 records, ")
    assert ", accepted 899, rejected 1, " in text and text.endswith(" elapsed\n")


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    """On a terminal every draw starts with a carriage return; only the end adds a newline."""
    stream = io.StringIO()
    line = Progress(stream, enabled=True, total_bytes=100, terminal=True)
    line.update(3, 50)
    line.finish(6, 100)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") >= 2
    assert "100% 6 reports" in text.rsplit("\r", 1)[1]


def test_an_unknown_total_shows_count_and_rate_without_a_share() -> None:
    """Without a total there is no percentage: the count, the rate, the time taken."""
    stream = io.StringIO()
    line = Progress(stream, enabled=True, unit="records")
    line.finish(12)
    [last] = stream.getvalue().splitlines()[-1:]
    assert last.startswith("12 records, ") and "%" not in last


def test_after_finish_a_new_total_starts_a_new_line() -> None:
    """An audit draws one line per pass: set_total after finish begins again."""
    stream = io.StringIO()
    line = Progress(stream, enabled=True, label="audit")
    line.set_total(10)
    line.finish(10)
    line.set_total(4)
    line.finish(2)
    finals = [s for s in stream.getvalue().splitlines() if "elapsed" in s]
    assert [s.split(" reports")[0] for s in finals] == ["audit: 100% 10", "audit:  50% 2"]


def test_disabled_is_silent() -> None:
    """A disabled progress line writes nothing at all."""
    stream = io.StringIO()
    line = Progress(stream, enabled=False, total=5)
    line.update(5)
    line.finish(5)
    assert stream.getvalue() == ""
