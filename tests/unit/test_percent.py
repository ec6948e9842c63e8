"""Exact integer percentages: half-up rounding and the reporting-percent rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from votewire.core.percent import hundredths, pct, reporting_pct


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (956_984, 1_209_817, "79.10"),  # the published national turnout of 2021
        (101_184, 111_328, "90.89"),  # East Kazakhstan: 90.889 %, published truncated as 90.88
        (1, 3, "33.33"),
        (2, 3, "66.67"),
        (1, 160, "0.63"),  # exactly 0.625 %: half-up, not half-even
        (1, 20_000, "0.01"),  # exactly 0.005 %
        (1, 40_000, "0.00"),  # 0.0025 %
        (3, 2, "150.00"),
        (5, 5, "100.00"),
        (0, 7, "0.00"),
    ],
)
def test_pct_rounds_half_up_to_two_decimals(part: int, whole: int, expected: str) -> None:
    """pct renders part/whole with two decimals, rounding exact halves up."""
    assert pct(part, whole) == expected


def test_pct_of_zero_whole_is_zero() -> None:
    """A zero denominator gives "0.00" rather than an error."""
    assert pct(0, 0) == "0.00"
    assert hundredths(5, 0) == 0


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_pct_matches_decimal_half_up(part: int, whole: int) -> None:
    """pct agrees with Decimal's ROUND_HALF_UP on any counts."""
    exact = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert pct(part, whole) == f"{exact:.2f}"


@pytest.mark.parametrize(
    ("n", "total", "expected"),
    [
        (0, 10, "0"),
        (0, 0, "0"),
        (1, 1000, "<1"),  # 0.1 %
        (1, 201, "<1"),  # 0.4975 %
        (1, 200, "1"),  # 0.5 % rounds half-up to 1
        (1, 3, "33"),
        (2, 3, "67"),
        (994, 1000, "99"),
        (199, 200, ">99"),  # 99.5 % would round to 100
        (999, 1000, ">99"),
        (10, 10, "100"),
    ],
)
def test_reporting_pct_never_shows_false_zero_or_hundred(n: int, total: int, expected: str) -> None:
    """reporting_pct is an integer percent with "<1" and ">99" at the edges."""
    assert reporting_pct(n, total) == expected


@given(st.integers(1, 10_000).flatmap(lambda t: st.tuples(st.integers(0, t), st.just(t))))
def test_reporting_pct_is_zero_or_hundred_only_when_exact(pair: tuple[int, int]) -> None:
    """ "0" appears only for n == 0 and "100" only for n == total."""
    n, total = pair
    shown = reporting_pct(n, total)
    assert (shown == "0") == (n == 0)
    assert (shown == "100") == (n == total)
