"""Strict decoding of an election definition (JSON object -> `ElectionDefinition`).

Part of the wire format; callers use it through `votewire.core.codec`.
A definition is trusted configuration, so decoding is strict: unknown keys,
wrong types, duplicate ids, dangling references and inconsistent rules all
raise `DefinitionError`. Each problem starts with the JSON path at fault,
e.g. ``$.races[3].region_id: unknown region 'R9'``.

Two passes: the shape (objects, fields, JSON types) stops at the first
problem, since nothing below a wrong type can be read; every other rule
(grammar of ids, uniqueness, references, colours, seats, marks) is checked
throughout, and all its problems are reported together
(`DefinitionError.problems`; the message shows the first `MAX_SHOWN`).

Rules beyond plain types:
- ids are non-empty strings; region, race, district and party ids are unique
  in the election, candidate and precinct ids unique within their race; the
  election, region, race and district ids name live channels (`race:E:R`,
  `region:E:G`), and party ids appear in views and exports, so all of them
  are 1-128 of `A-Z a-z 0-9 _ . -` (`CHANNEL_ID`);
- `turnout_marks` are "HH:MM" clock times, strictly ascending;
- `seats` >= 1 and at most the number of candidates; a `majority` race has
  exactly one seat; every race has at least one candidate and one precinct;
- `registered` is an int in [0, 10,000,000]; `date` an ISO date;
- a race's `region_id` names a region, or is null: the race spans regions,
  and then every precinct names its `region_id`; in a race with a region a
  precinct's `region_id` (default: the race's) must be that region;
- a precinct's `district_id` names a district of `districts`, which lies in
  the precinct's region; a district's `region_id` names a region;
- with a `parties` registry, every candidate's `party` is a registered
  `party_id`; a party's `color` is "#rrggbb" (hex digits) or null;
- optional, with their defaults: `test` (false), `parties` ([]: no
  registry, `party` is free text as in contract v1), `districts` ([]), a
  region's `timezone` (null), a race's `majority_base` ("ballots_cast"), a
  precinct's `region_id` and `district_id` (null), a party's `short_name`
  (its name) and `color` (null). A v1 definition has none of them and
  decodes unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple, get_args

from votewire.core.models import (
    AgainstAllRule,
    Candidate,
    District,
    ElectionDefinition,
    MajorityBase,
    Party,
    Precinct,
    Race,
    Region,
    ShareBase,
    WinnerRule,
)

MAX_REGISTERED = 10_000_000
MAX_SHOWN = 20
"""Problems spelled out in a `DefinitionError`'s message; `problems` has them all."""
_MARK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CHANNEL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
"""An id that is part of a live channel name (the grammar of `infra.redis_views`)."""
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
"""A party colour: "#rrggbb"."""


class DefinitionProblem(NamedTuple):
    """One problem: the JSON path at fault ("$.races[3].region_id") and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    """The definition is unusable; each of `problems` names the JSON path at fault."""

    def __init__(self, problems: str | Sequence[DefinitionProblem]) -> None:
        if isinstance(problems, str):
            path, _, message = problems.partition(": ")
            problems = [DefinitionProblem(path, message)]
        self.problems: tuple[DefinitionProblem, ...] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_SHOWN])
        more = len(self.problems) - MAX_SHOWN
        super().__init__(shown + (f"; and {more} more problem(s)" if more > 0 else ""))


def _obj(value: Any, path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DefinitionError(f"{path or '$'}: expected an object")
    missing = sorted(required - value.keys())
    if missing:
        raise DefinitionError(f"{path or '$'}: missing field(s) {', '.join(missing)}")
    extra = sorted(str(k) for k in value.keys() - required - optional)
    if extra:
        raise DefinitionError(f"{path or '$'}: unknown field(s) {', '.join(extra)}")
    return value


def _str(obj: dict[str, Any], key: str, path: str, *, empty: bool = False) -> str:
    value = obj[key]
    if not isinstance(value, str) or (not empty and not value):
        raise DefinitionError(f"{path}.{key}: expected a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DefinitionError(f"{path}.{key}: not valid Unicode text") from None
    return value


def _optional_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    """An optional field that is a non-empty string or null (absent: null)."""
    if obj.get(key) is None:
        return None
    return _str(obj, key, path)


def _int(obj: dict[str, Any], key: str, path: str, low: int, high: int) -> int:
    value = obj[key]
    if type(value) is not int or not low <= value <= high:
        raise DefinitionError(f"{path}.{key}: expected an integer in [{low}, {high}]")
    return value


def _bool(obj: dict[str, Any], key: str, path: str, default: bool = False) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise DefinitionError(f"{path}.{key}: expected true or false")
    return value


def _choice(obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> Any:
    value = obj[key]
    if value not in allowed:
        raise DefinitionError(f"{path}.{key}: expected one of {', '.join(allowed)}")
    return value


def _list(obj: dict[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise DefinitionError(f"{path}.{key}: expected a list")
    return value


class _Decoder:
    """One decoding: the shape raises at once, the rules collect into `problems`."""

    def __init__(self) -> None:
        self.problems: list[DefinitionProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(DefinitionProblem(path, message))

    def channel_id(self, obj: dict[str, Any], key: str, path: str) -> str:
        value = _str(obj, key, path)
        if not CHANNEL_ID.match(value):
            self.fail(f"{path}.{key}", "expected 1-128 of A-Z a-z 0-9 _ . - (a channel id)")
        return value

    def unique(self, ids: Iterable[str], path: str, what: str) -> set[str]:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                self.fail(f"{path}[{i}]", f"duplicate {what} id {ident!r}")
            seen.add(ident)
        return seen

    def region(self, value: Any, path: str) -> Region:
        obj = _obj(value, path, {"region_id", "name"}, {"timezone"})
        tz = obj.get("timezone")
        if tz is not None and (not isinstance(tz, str) or not tz):
            raise DefinitionError(f"{path}.timezone: expected a non-empty string or null")
        return Region(
            self.channel_id(obj, "region_id", path), _str(obj, "name", path, empty=True), tz
        )

    def party(self, value: Any, path: str) -> Party:
        obj = _obj(value, path, {"party_id", "name"}, {"short_name", "color"})
        name = _str(obj, "name", path)
        color = _optional_str(obj, "color", path)
        if color is not None and not COLOR.match(color):
            self.fail(f"{path}.color", f"expected a colour as #rrggbb, got {color[:20]!r}")
        return Party(
            self.channel_id(obj, "party_id", path),
            name,
            _str(obj, "short_name", path) if "short_name" in obj else name,
            color,
        )

    def district(self, value: Any, path: str, regions: set[str]) -> District:
        obj = _obj(value, path, {"district_id", "region_id", "name"}, set())
        region_id = _str(obj, "region_id", path)
        if region_id not in regions:
            self.fail(f"{path}.region_id", f"unknown region {region_id!r}")
        return District(
            self.channel_id(obj, "district_id", path),
            region_id,
            _str(obj, "name", path, empty=True),
        )

    def candidate(self, value: Any, path: str, parties: set[str] | None) -> Candidate:
        obj = _obj(value, path, {"candidate_id", "name", "party"}, set())
        party = _str(obj, "party", path)
        if parties is not None and party not in parties:
            self.fail(f"{path}.party", f"unknown party {party!r} (not a party_id of $.parties)")
        return Candidate(
            _str(obj, "candidate_id", path), _str(obj, "name", path, empty=True), party
        )

    def precinct(self, value: Any, path: str, race_region: str | None, where: _Places) -> Precinct:
        obj = _obj(value, path, {"precinct_id", "name", "registered"}, {"region_id", "district_id"})
        region_id = _optional_str(obj, "region_id", path)
        district_id = _optional_str(obj, "district_id", path)
        region = region_id or race_region
        if region_id is not None and region_id not in where.regions:
            self.fail(f"{path}.region_id", f"unknown region {region_id!r}")
        elif race_region is None and region_id is None:
            self.fail(f"{path}.region_id", "required: the race spans regions (region_id null)")
        elif race_region is not None and region_id not in (None, race_region):
            self.fail(
                f"{path}.region_id",
                f"{region_id!r} is not the race's region {race_region!r} "
                "(a race spanning regions has region_id null)",
            )
        if district_id is not None:
            district = where.districts.get(district_id)
            if district is None:
                self.fail(f"{path}.district_id", f"unknown district {district_id!r}")
            elif region in where.regions and district.region_id != region:
                self.fail(
                    f"{path}.district_id",
                    f"district {district_id!r} is in region {district.region_id!r}, "
                    f"the precinct in {region!r}",
                )
        return Precinct(
            _str(obj, "precinct_id", path),
            _str(obj, "name", path, empty=True),
            _int(obj, "registered", path, 0, MAX_REGISTERED),
            region_id,
            district_id,
        )

    def race(self, value: Any, path: str, where: _Places) -> Race:
        obj = _obj(value, path, _RACE_FIELDS, {"majority_base"})
        region_id = obj["region_id"]
        if region_id is not None:
            region_id = _str(obj, "region_id", path)
            if region_id not in where.regions:
                self.fail(f"{path}.region_id", f"unknown region {region_id!r}")
        candidates = tuple(
            self.candidate(c, f"{path}.candidates[{i}]", where.parties)
            for i, c in enumerate(_list(obj, "candidates", path))
        )
        precincts = tuple(
            self.precinct(p, f"{path}.precincts[{i}]", region_id, where)
            for i, p in enumerate(_list(obj, "precincts", path))
        )
        if not candidates:
            self.fail(f"{path}.candidates", "a race needs at least one candidate")
        if not precincts:
            self.fail(f"{path}.precincts", "a race needs at least one precinct")
        self.unique((c.candidate_id for c in candidates), f"{path}.candidates", "candidate")
        self.unique((p.precinct_id for p in precincts), f"{path}.precincts", "precinct")
        winner_rule = _choice(obj, "winner_rule", path, get_args(WinnerRule))
        seats = _int(obj, "seats", path, 1, MAX_REGISTERED)
        if candidates and seats > len(candidates):
            self.fail(f"{path}.seats", f"expected an integer in [1, {len(candidates)}]")
        if winner_rule == "majority" and seats != 1:
            self.fail(f"{path}.seats", "a majority race elects exactly one seat")
        if not isinstance(obj["against_all"], bool):
            raise DefinitionError(f"{path}.against_all: expected true or false")
        majority_base: MajorityBase = "ballots_cast"
        if "majority_base" in obj:
            majority_base = _choice(obj, "majority_base", path, get_args(MajorityBase))
        return Race(
            race_id=self.channel_id(obj, "race_id", path),
            name=_str(obj, "name", path, empty=True),
            region_id=region_id,
            office=_str(obj, "office", path, empty=True),
            seats=seats,
            against_all=obj["against_all"],
            winner_rule=winner_rule,
            against_all_rule=_choice(obj, "against_all_rule", path, get_args(AgainstAllRule)),
            candidates=candidates,
            precincts=precincts,
            majority_base=majority_base,
        )

    def marks(self, top: dict[str, Any]) -> tuple[str, ...]:
        marks = _list(top, "turnout_marks", "$")
        for i, mark in enumerate(marks):
            if not isinstance(mark, str) or not _MARK.match(mark):
                raise DefinitionError(f"$.turnout_marks[{i}]: expected a 'HH:MM' time")
            if i and mark <= marks[i - 1]:
                self.fail(f"$.turnout_marks[{i}]", "marks must be strictly ascending")
        return tuple(marks)

    def definition(self, obj: Any) -> ElectionDefinition:
        top = _obj(obj, "", _TOP_FIELDS, {"test", "parties", "districts"})
        day = _str(top, "date", "$")
        try:
            date.fromisoformat(day)
        except ValueError:
            raise DefinitionError(f"$.date: expected an ISO date, got {day!r}") from None
        marks = self.marks(top)
        regions = tuple(
            self.region(r, f"$.regions[{i}]") for i, r in enumerate(_list(top, "regions", "$"))
        )
        region_ids = self.unique((r.region_id for r in regions), "$.regions", "region")
        parties = tuple(
            self.party(p, f"$.parties[{i}]") for i, p in enumerate(_list(top, "parties", "$"))
        )
        party_ids = self.unique((p.party_id for p in parties), "$.parties", "party")
        districts = tuple(
            self.district(d, f"$.districts[{i}]", region_ids)
            for i, d in enumerate(_list(top, "districts", "$"))
        )
        self.unique((d.district_id for d in districts), "$.districts", "district")
        where = _Places(
            region_ids,
            {d.district_id: d for d in reversed(districts)},  # the first of a duplicate id wins
            party_ids if "parties" in top else None,
        )
        races = tuple(
            self.race(r, f"$.races[{i}]", where) for i, r in enumerate(_list(top, "races", "$"))
        )
        self.unique((r.race_id for r in races), "$.races", "race")
        definition = ElectionDefinition(
            election_id=self.channel_id(top, "election_id", "$"),
            name=_str(top, "name", "$", empty=True),
            date=day,
            timezone=_str(top, "timezone", "$"),
            turnout_marks=marks,
            share_base=_choice(top, "share_base", "$", get_args(ShareBase)),
            regions=regions,
            races=races,
            test=_bool(top, "test", "$"),
            parties=parties,
            districts=districts,
        )
        if self.problems:
            raise DefinitionError(self.problems)
        return definition


class _Places:
    """What a race's fields may refer to."""

    __slots__ = ("districts", "parties", "regions")

    def __init__(
        self, regions: set[str], districts: dict[str, District], parties: set[str] | None
    ) -> None:
        self.regions = regions
        self.districts = districts
        self.parties = parties
        """None: no registry, `party` is free text."""


_RACE_FIELDS = {
    "race_id", "name", "region_id", "office", "seats", "against_all",
    "winner_rule", "against_all_rule", "candidates", "precincts",
}  # fmt: skip


_TOP_FIELDS = {
    "election_id", "name", "date", "timezone", "turnout_marks", "share_base",
    "regions", "races",
}  # fmt: skip


def decode_definition(obj: Any) -> ElectionDefinition:
    """Decode and check a definition; raises `DefinitionError` (see the module doc)."""
    return _Decoder().definition(obj)
