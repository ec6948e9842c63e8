"""Comparing two sets of views, figure by figure, per race, region and nation.

A `ViewSet` is what an audit source yields: the national view, the region
views and the race views of one election (plain JSON-ready dicts, as
published), or, for a published table (`partial`), only the figures the
table states.

Views are compared as flat figures (`flatten`): every scalar under a dotted
path, lists keyed by their id (`candidates.<candidate_id>.votes`,
`votes_by_party.<party>.pct`, `seats_by_party.<party>.seats`,
`turnout_by_mark.<mark>.ballots_cast`, `parties.<party_id>.color`), plus
`seats_total` (seats won, the sum of `seats_by_party`). Left out: `version`
(it counts changes, so it depends on arrival order and on coalescing, not on
the figures) and `election_id`.

`compare(left, right)`:
- two complete sets: every path of either side; a view absent on one side
  counts as unpublished, a difference only if the other side's view has
  something in it (version > 0);
- a partial side: only the views and paths it states (a table of regional
  turnout says nothing about races);
- a count that one side does not list under `seats_by_party`,
  `votes_by_party` or `outcomes` is 0 there (lists leave out zeros).
Counts compare as integers, percentages as their published strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

LIST_IDS = {
    "candidates": "candidate_id",
    "votes_by_party": "party",
    "seats_by_party": "party",
    "turnout_by_mark": "mark",
    "parties": "party_id",
}
SKIPPED = {"version", "election_id"}
ZERO_WHEN_ABSENT = ("seats_by_party.", "votes_by_party.", "outcomes.")
ABSENT = "(absent)"

Scalar = str | int | float | bool | None
View = Mapping[str, Any]


@dataclass
class ViewSet:
    """The views of one election from one source (see the module doc)."""

    label: str
    election_id: str
    national: dict[str, Any] | None = None
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    races: dict[str, dict[str, Any]] = field(default_factory=dict)
    partial: bool = False
    note: str = ""

    def entities(self) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
        yield "national", None, self.national
        for rid, view in self.regions.items():
            yield "region", rid, view
        for rid, view in self.races.items():
            yield "race", rid, view

    def get(self, scope: str, ident: str | None) -> dict[str, Any] | None:
        if scope == "national":
            return self.national
        return (self.regions if scope == "region" else self.races).get(ident or "")


@dataclass(frozen=True, slots=True)
class Difference:
    scope: str
    id: str | None
    field: str
    left: Scalar
    right: Scalar
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "id": self.id,
            "name": self.name,
            "field": self.field,
            "left": self.left,
            "right": self.right,
        }


def flatten(view: View, prefix: str = "") -> dict[str, Scalar]:
    """Every figure of a view under its dotted path (see the module doc)."""
    out: dict[str, Scalar] = {}
    for key, value in view.items():
        if not prefix and key in SKIPPED:
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{path}."))
        elif isinstance(value, list | tuple):
            id_key = LIST_IDS.get(key)
            if id_key is None:
                out[path] = ",".join(str(v) for v in value)
                continue
            for item in value:
                rest = {k: v for k, v in item.items() if k != id_key}
                out.update(flatten(rest, f"{path}.{item[id_key]}."))
        else:
            out[path] = value
    if not prefix and "seats_by_party" in view:
        out["seats_total"] = sum(int(s["seats"]) for s in view["seats_by_party"])
    return out


def _default(path: str) -> Scalar:
    return 0 if path.startswith(ZERO_WHEN_ABSENT) else ABSENT


def _same(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return str(a) == str(b)


def _name(*views: View | None) -> str | None:
    for view in views:
        if view is not None and isinstance(view.get("name"), str):
            return str(view["name"])
    return None


def _view_difference(
    scope: str, ident: str | None, left: View | None, right: View | None
) -> Difference | None:
    """A view published on one side only, with something in it."""
    present = left if left is not None else right
    if present is None or not present.get("version"):
        return None
    shown = f"version {present['version']}"
    pair = (ABSENT, shown) if left is None else (shown, ABSENT)
    return Difference(scope, ident, "(view)", *pair, name=_name(present))


def compare(left: ViewSet, right: ViewSet) -> list[Difference]:
    """Every difference between two view sets (see the module doc), in a stable order."""
    partial = left if left.partial else right if right.partial else None
    if partial is not None:
        keys = [(scope, ident) for scope, ident, view in partial.entities() if view is not None]
    else:
        seen: dict[tuple[str, str | None], None] = {}
        for source in (left, right):
            for scope, ident, _ in source.entities():
                seen.setdefault((scope, ident), None)
        keys = list(seen)
    out: list[Difference] = []
    for scope, ident in keys:
        a, b = left.get(scope, ident), right.get(scope, ident)
        if a is None or b is None:
            if partial is not None:  # the other side lacks a view the table states
                out.append(Difference(scope, ident, "(view)", *_absent_pair(a, b)))
                continue
            found = _view_difference(scope, ident, a, b)
            if found is not None:
                out.append(found)
            continue
        fa, fb = flatten(a), flatten(b)
        if partial is not None:
            paths = list((fa if partial is left else fb).keys())
        else:
            paths = list(dict.fromkeys([*fa, *fb]))
        name = _name(a, b) if partial is None else _name(b if partial is left else a)
        for path in paths:
            va, vb = fa.get(path, _default(path)), fb.get(path, _default(path))
            if not _same(va, vb):
                out.append(Difference(scope, ident, path, va, vb, name))
    order = {"national": 0, "region": 1, "race": 2}
    return sorted(out, key=lambda d: (order[d.scope], d.id or "", d.field))


def _absent_pair(a: View | None, b: View | None) -> tuple[Scalar, Scalar]:
    return (ABSENT if a is None else "present", ABSENT if b is None else "present")
