"""Exact percentages from integer counts, rendered as strings.

No floats anywhere: a published figure must equal the one a person computes
by hand from the raw counts, on every machine, always. Rounding is half-up
(0.005 % -> "0.01"), done in integer arithmetic.

- `pct(part, whole)` -> two decimals, e.g. "79.10"; a zero `whole` gives "0.00".
- `reporting_pct(n, total)` -> an integer percent for "precincts reporting",
  which must never claim "0" while something reported nor "100" while
  something is missing: it is rounded half-up to an integer, except that
  0 < n/total < 0.5 % gives "<1" and 99.5 % <= n/total < 100 % gives ">99".
  `n == 0` (or `total == 0`) gives "0", `n == total` gives "100".

Counts are non-negative; `part <= whole` is not required (a share above
100 % renders as such, e.g. for a turnout above the registered figure).
"""

from __future__ import annotations

__all__ = ["hundredths", "pct", "reporting_pct"]


def hundredths(part: int, whole: int) -> int:
    """part/whole in hundredths of a percent, rounded half-up; 0 if `whole` is 0."""
    if whole <= 0:
        return 0
    return (part * 20_000 + whole) // (2 * whole)


def pct(part: int, whole: int) -> str:
    """part/whole as a percent with two decimals, half-up: pct(1, 3) == "33.33"."""
    h = hundredths(part, whole)
    return f"{h // 100}.{h % 100:02d}"


def reporting_pct(n: int, total: int) -> str:
    """n/total as an integer percent that never shows a false "0" or "100"."""
    if n <= 0 or total <= 0:
        return "0"
    if n >= total:
        return "100"
    rounded = (n * 200 + total) // (2 * total)
    if rounded == 0:
        return "<1"
    if rounded == 100:
        return ">99"
    return str(rounded)
