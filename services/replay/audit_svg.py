"""Two small SVG charts drawn by hand for the HTML audit (no library, no script).

- `turnout_chart(title, lines)`: turnout (0-100 %) at each mark, one
  polyline per source (solid or dashed), a dot per point with a tooltip.
- `timeline_chart(rows, events, zone)`: one row per region (plus any other
  row key), delivery time across with hour ticks in the election's zone; a
  dot per correction, a triangle per stale report, a square per flag, a
  tick per rejection, each with a tooltip (`<title>`).

Every text that comes from data is escaped. Sizes are fixed; the SVG scales
with the page through its viewBox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

Point = tuple[str, float]
Line = tuple[str, bool, Sequence[Point]]
"""(source label, dashed, [(mark, percent), ...])."""
Event = tuple[str, str | None, int, str]
"""(kind: correction | stale | flag | rejected, row key, delivery ms, tooltip)."""

COLORS = {"correction": "#1f77b4", "stale": "#ff7f0e", "flag": "#d62728", "rejected": "#888"}
HOUR_MS = 3_600_000


def turnout_chart(title: str, lines: Sequence[Line]) -> str:
    w, h, left, top, bottom, right = 250, 150, 30, 10, 20, 18
    marks = [m for m, _ in lines[0][2]] if lines else []
    step = (w - left - right) / max(1, len(marks) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(pct: float) -> float:
        return top + (h - top - bottom) * (1 - min(100.0, max(0.0, pct)) / 100)

    parts = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">']
    parts.append(f"<title>{escape(title)}</title>")
    for pct in (0, 25, 50, 75, 100):
        at = f"{y(pct):.1f}"
        parts.append(
            f'<line x1="{left}" x2="{w - right}" y1="{at}" y2="{at}" stroke="#eee"/>'
            f'<text x="{left - 4}" y="{y(pct) + 3:.1f}" text-anchor="end">{pct}</text>'
        )
    for i, mark in enumerate(marks):
        parts.append(f'<text x="{x(i):.1f}" y="{h - 6}" text-anchor="middle">{escape(mark)}</text>')
    for label, dashed, points in lines:
        color = "#d62728" if dashed else "#1f77b4"
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        coords = " ".join(f"{x(i):.1f},{y(p):.1f}" for i, (_, p) in enumerate(points))
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"{dash}/>'
        )
        for i, (mark, p) in enumerate(points):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(p):.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(label)} {escape(mark)}: {p:.2f} %</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _shape(kind: str, xx: float, yy: float) -> tuple[str, str]:
    """(opening tag, closing tag) of one event's mark."""
    color = COLORS[kind]
    if kind == "correction":
        tag = f'<circle cx="{xx:.1f}" cy="{yy:.1f}" r="4" fill="{color}" fill-opacity=".7">'
        return tag, "</circle>"
    if kind == "stale":
        pts = f"{xx:.1f},{yy - 4:.1f} {xx - 4:.1f},{yy + 4:.1f} {xx + 4:.1f},{yy + 4:.1f}"
        return f'<polygon points="{pts}" fill="{color}">', "</polygon>"
    if kind == "flag":
        tag = f'<rect x="{xx - 3:.1f}" y="{yy - 3:.1f}" width="6" height="6" fill="{color}">'
        return tag, "</rect>"
    tag = f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{yy - 5:.1f}" y2="{yy + 5:.1f}" stroke="{color}">'
    return tag, "</line>"


def timeline_chart(
    rows: Sequence[tuple[str | None, str]], events: Sequence[Event], zone: str
) -> str:
    """`rows`: (row key, label); an event whose key is not a row goes to the last row."""
    t0 = min((e[2] for e in events), default=0)
    t1 = max((e[2] for e in events), default=0)
    span = max(1, t1 - t0)
    w, row_h, left, top = 1100, 18, 170, 20
    h = top + row_h * len(rows) + 24
    index = {key: i for i, (key, _) in enumerate(rows)}

    def x(ms: int) -> float:
        return left + (w - left - 10) * (ms - t0) / span

    parts = [f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">']
    for i, (_, label) in enumerate(rows):
        yy = top + i * row_h + row_h / 2
        parts.append(
            f'<text x="{left - 6}" y="{yy + 3:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<line x1="{left}" x2="{w - 10}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>'
        )
    every = HOUR_MS * max(1, (t1 - t0) // (HOUR_MS * 12) + 1)
    for tick in range((t0 // HOUR_MS + 1) * HOUR_MS, t1 + 1, every):
        local = datetime.fromtimestamp(tick / 1000, UTC).astimezone(ZoneInfo(zone))
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 4}" y2="{h - 20}" '
            f'stroke="#ddd"/><text x="{x(tick):.1f}" y="{h - 6}" text-anchor="middle">'
            f"{local:%H:%M}</text>"
        )
    for kind, key, ms, tip in events:
        i = index.get(key, len(rows) - 1)
        opening, closing = _shape(kind, x(ms), top + i * row_h + row_h / 2)
        parts.append(f"{opening}<title>{escape(tip)}</title>{closing}")
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    return " ".join(f'<span style="color:{c}">&#9679; {k}</span>' for k, c in COLORS.items())
