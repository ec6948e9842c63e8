"""Cost per report against night size: the pure engine's offline fold.

Nights are the kz-2021 scenario at growing `scale` (about 14,000 reports per
unit of scale, 5 % faults): 10^4 ~ scale 1, 10^5 ~ scale 7, 10^6 ~ scale 71.
Each is validated and folded once with `ElectionTally`, and the totals are
checked against the scenario's own truth (the sum of the final protocols): a
wrong total raises, so a fast wrong fold can never be reported.
"""

from __future__ import annotations

import time
from typing import TypedDict

from votewire.core.scenario.faults import FaultRates
from votewire.core.scenario.kz2021 import kz2021_definition, kz2021_scenario
from votewire.core.scenario.night import simulate_night
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report

REPORTS_PER_SCALE = 14_000


class ScalingRow(TypedDict):
    reports: int
    scale: int
    seconds: float
    us_per_report: float


def fold_once(scale: int, seed: int = 2021) -> ScalingRow:
    definition = kz2021_definition(seed, scale=scale)
    night = simulate_night(definition, seed=seed, faults=FaultRates.uniform(0.05))
    payloads = [item.wire() for item in night]
    start = time.perf_counter()
    tally = ElectionTally(definition)
    for payload in payloads:
        verdict = validate_report(payload, definition)
        if isinstance(verdict, Accepted):
            tally.apply(verdict.report)
    national = tally.national_view()
    seconds = time.perf_counter() - start
    truth = kz2021_scenario(seed, scale)
    expected = sum(p.ballots_cast for p in truth.protocols)
    if national["ballots_cast"] != expected:
        raise AssertionError(
            f"scale {scale}: folded {national['ballots_cast']} ballots, expected {expected}"
        )
    return ScalingRow(
        reports=len(payloads),
        scale=scale,
        seconds=seconds,
        us_per_report=seconds / len(payloads) * 1e6,
    )


def measure_scaling(sizes: tuple[int, ...]) -> list[ScalingRow]:
    return [fold_once(max(1, round(size / REPORTS_PER_SCALE))) for size in sizes]


def scaling_svg(rows: list[ScalingRow], width: int = 560, height: int = 300) -> str:
    """A log-x line plot of µs/report against report count, drawn by hand."""
    import math

    pad = 50
    xs = [math.log10(r["reports"]) for r in rows]
    ys = [r["us_per_report"] for r in rows]
    x0, x1 = min(xs) - 0.2, max(xs) + 0.2
    y1 = max(ys) * 1.25 or 1.0

    def px(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def py(y: float) -> float:
        return height - pad - y / y1 * (height - 2 * pad)

    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#333"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>',
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">reports (log scale)</text>',
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" '
        'text-anchor="middle">µs per report</text>',
    ]
    for x, y, row in zip(xs, ys, rows, strict=True):
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="#1f77b4"/>')
        parts.append(
            f'<text x="{px(x):.1f}" y="{py(y) - 10:.1f}" text-anchor="middle">'
            f"{row['reports']:,}: {y:.1f} µs</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
