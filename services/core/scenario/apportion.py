"""Exact integer splits: the arithmetic that keeps every scenario total exact.

`apportion(total, weights, caps)` splits `total` into non-negative integers
proportional to `weights` (largest remainder), none above its cap. Every
figure of the scenario (registered voters, ballots, votes, turnout by mark)
is built with it, so sums hold by construction and never by rounding luck.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["apportion", "fit_total"]


def apportion(total: int, weights: Sequence[float], caps: Sequence[int] | None = None) -> list[int]:
    """Split `total` proportionally to `weights`, each part within `[0, caps[i]]`.

    Shares above a cap are clamped and the excess goes to the others, in
    proportion again (water-filling). Where every weight with room left is 0,
    the rest is spread in proportion to the room left. Deterministic: ties go
    to the lower index. Raises `ValueError` if `total` is negative or exceeds
    the sum of the caps.
    """
    n = len(weights)
    limit = list(caps) if caps is not None else [total] * n
    if total < 0 or total > sum(limit) or (n == 0 and total):
        raise ValueError(f"cannot split {total} into {n} parts with caps summing to {sum(limit)}")
    parts = [0] * n
    open_ = [i for i in range(n) if limit[i] > 0]
    left = total
    while left > 0:
        # Normalised by the largest open weight so that tiny (even subnormal)
        # weights cannot overflow the scale below.
        top = max((float(weights[i]) for i in open_), default=0.0)
        weight = {i: max(0.0, float(weights[i]) / top) if top > 0 else 0.0 for i in open_}
        if sum(weight.values()) <= 0:
            weight = {i: float(limit[i] - parts[i]) for i in open_}
        scale = left / sum(weight.values())
        capped = [i for i in open_ if parts[i] + weight[i] * scale >= limit[i]]
        if capped:
            for i in capped:
                left -= limit[i] - parts[i]
                parts[i] = limit[i]
            full = set(capped)
            open_ = [i for i in open_ if i not in full]
            continue
        shares = {i: weight[i] * scale for i in open_}
        floors = {i: math.floor(s) for i, s in shares.items()}
        for i, f in floors.items():
            parts[i] += f
        left -= sum(floors.values())
        by_remainder = sorted(open_, key=lambda i: (-(shares[i] - floors[i]), i))
        for i in by_remainder[:left]:
            parts[i] += 1
        left = 0
    return parts


def fit_total(
    values: Sequence[int], lows: Sequence[int], highs: Sequence[int], target: int
) -> list[int]:
    """Shift `values` (each within `[lows[i], highs[i]]`) so they sum to `target`.

    The difference is spread in proportion to each value's room in the needed
    direction, so values keep their order of magnitude. Raises `ValueError`
    if the bounds cannot reach `target`.
    """
    delta = target - sum(values)
    if delta >= 0:
        room = [h - v for v, h in zip(values, highs, strict=True)]
        return [v + d for v, d in zip(values, apportion(delta, room, room), strict=True)]
    room = [v - lo for v, lo in zip(values, lows, strict=True)]
    return [v - d for v, d in zip(values, apportion(-delta, room, room), strict=True)]
