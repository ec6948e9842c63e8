"""Strict decoding of an election definition (JSON object -> `ElectionDefinition`).

Part of the wire format; callers use it through `votewire.core.codec`.
A definition is trusted configuration, so decoding is strict: unknown keys,
wrong types, duplicate ids, dangling references and inconsistent rules all
raise `DefinitionError` whose message starts with the JSON path at fault,
e.g. ``races[3].region_id: unknown region 'R9'``. The first problem found is
reported.

Rules beyond plain types:
- ids are non-empty strings; region and race ids are unique in the election,
  candidate and precinct ids unique within their race; the election, region
  and race ids name live channels (`race:E:R`, `region:E:G`), so they are
  1-128 of `A-Z a-z 0-9 _ . -` (`CHANNEL_ID`);
- `turnout_marks` are "HH:MM" clock times, strictly ascending;
- `seats` >= 1 and at most the number of candidates; a `majority` race has
  exactly one seat; every race has at least one candidate and one precinct;
- `registered` is an int in [0, 10,000,000]; `date` an ISO date;
- `test` (default false) and region `timezone` (default null) are optional.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, get_args

from votewire.core.models import (
    AgainstAllRule,
    Candidate,
    ElectionDefinition,
    Precinct,
    Race,
    Region,
    ShareBase,
    WinnerRule,
)

MAX_REGISTERED = 10_000_000
_MARK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CHANNEL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
"""An id that is part of a live channel name (the grammar of `infra.redis_views`)."""


class DefinitionError(ValueError):
    """The definition is unusable; the message names the JSON path at fault."""


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


def _channel_id(obj: dict[str, Any], key: str, path: str) -> str:
    value = _str(obj, key, path)
    if not CHANNEL_ID.match(value):
        raise DefinitionError(f"{path}.{key}: expected 1-128 of A-Z a-z 0-9 _ . - (a channel id)")
    return value


def _int(obj: dict[str, Any], key: str, path: str, low: int, high: int) -> int:
    value = obj[key]
    if type(value) is not int or not low <= value <= high:
        raise DefinitionError(f"{path}.{key}: expected an integer in [{low}, {high}]")
    return value


def _bool(obj: dict[str, Any], key: str, path: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise DefinitionError(f"{path}.{key}: expected true or false")
    return value


def _choice(obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> Any:
    value = obj[key]
    if value not in allowed:
        raise DefinitionError(f"{path}.{key}: expected one of {', '.join(allowed)}")
    return value


def _list(obj: dict[str, Any], key: str, path: str) -> list[Any]:
    value = obj[key]
    if not isinstance(value, list):
        raise DefinitionError(f"{path}.{key}: expected a list")
    return value


def _unique(ids: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise DefinitionError(f"{path}[{i}]: duplicate {what} id {ident!r}")
        seen.add(ident)


def _region(value: Any, path: str) -> Region:
    obj = _obj(value, path, {"region_id", "name"}, {"timezone"})
    tz = obj.get("timezone")
    if tz is not None and (not isinstance(tz, str) or not tz):
        raise DefinitionError(f"{path}.timezone: expected a non-empty string or null")
    return Region(_channel_id(obj, "region_id", path), _str(obj, "name", path, empty=True), tz)


def _candidate(value: Any, path: str) -> Candidate:
    obj = _obj(value, path, {"candidate_id", "name", "party"}, set())
    return Candidate(
        _str(obj, "candidate_id", path),
        _str(obj, "name", path, empty=True),
        _str(obj, "party", path),
    )


def _precinct(value: Any, path: str) -> Precinct:
    obj = _obj(value, path, {"precinct_id", "name", "registered"}, set())
    return Precinct(
        _str(obj, "precinct_id", path),
        _str(obj, "name", path, empty=True),
        _int(obj, "registered", path, 0, MAX_REGISTERED),
    )


_RACE_FIELDS = {
    "race_id", "name", "region_id", "office", "seats", "against_all",
    "winner_rule", "against_all_rule", "candidates", "precincts",
}  # fmt: skip


def _race(value: Any, path: str, regions: set[str]) -> Race:
    obj = _obj(value, path, _RACE_FIELDS, set())
    region_id = _str(obj, "region_id", path)
    if region_id not in regions:
        raise DefinitionError(f"{path}.region_id: unknown region {region_id!r}")
    candidates = tuple(
        _candidate(c, f"{path}.candidates[{i}]")
        for i, c in enumerate(_list(obj, "candidates", path))
    )
    precincts = tuple(
        _precinct(p, f"{path}.precincts[{i}]") for i, p in enumerate(_list(obj, "precincts", path))
    )
    if not candidates:
        raise DefinitionError(f"{path}.candidates: a race needs at least one candidate")
    if not precincts:
        raise DefinitionError(f"{path}.precincts: a race needs at least one precinct")
    _unique([c.candidate_id for c in candidates], f"{path}.candidates", "candidate")
    _unique([p.precinct_id for p in precincts], f"{path}.precincts", "precinct")
    winner_rule = _choice(obj, "winner_rule", path, get_args(WinnerRule))
    seats = _int(obj, "seats", path, 1, len(candidates))
    if winner_rule == "majority" and seats != 1:
        raise DefinitionError(f"{path}.seats: a majority race elects exactly one seat")
    against_all = obj["against_all"]
    if not isinstance(against_all, bool):
        raise DefinitionError(f"{path}.against_all: expected true or false")
    return Race(
        race_id=_channel_id(obj, "race_id", path),
        name=_str(obj, "name", path, empty=True),
        region_id=region_id,
        office=_str(obj, "office", path, empty=True),
        seats=seats,
        against_all=against_all,
        winner_rule=winner_rule,
        against_all_rule=_choice(obj, "against_all_rule", path, get_args(AgainstAllRule)),
        candidates=candidates,
        precincts=precincts,
    )


_TOP_FIELDS = {
    "election_id", "name", "date", "timezone", "turnout_marks", "share_base",
    "regions", "races",
}  # fmt: skip


def decode_definition(obj: Any) -> ElectionDefinition:
    """Decode and check a definition; raises `DefinitionError` on the first problem."""
    top = _obj(obj, "", _TOP_FIELDS, {"test"})
    day = _str(top, "date", "$")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise DefinitionError(f"$.date: expected an ISO date, got {day!r}") from None
    marks = _list(top, "turnout_marks", "$")
    for i, mark in enumerate(marks):
        if not isinstance(mark, str) or not _MARK.match(mark):
            raise DefinitionError(f"$.turnout_marks[{i}]: expected a 'HH:MM' time")
        if i and mark <= marks[i - 1]:
            raise DefinitionError(f"$.turnout_marks[{i}]: marks must be strictly ascending")
    regions = tuple(_region(r, f"$.regions[{i}]") for i, r in enumerate(_list(top, "regions", "$")))
    _unique([r.region_id for r in regions], "$.regions", "region")
    region_ids = {r.region_id for r in regions}
    races = tuple(
        _race(r, f"$.races[{i}]", region_ids) for i, r in enumerate(_list(top, "races", "$"))
    )
    _unique([r.race_id for r in races], "$.races", "race")
    return ElectionDefinition(
        election_id=_channel_id(top, "election_id", "$"),
        name=_str(top, "name", "$", empty=True),
        date=day,
        timezone=_str(top, "timezone", "$"),
        turnout_marks=tuple(marks),
        share_base=_choice(top, "share_base", "$", get_args(ShareBase)),
        regions=regions,
        races=races,
        test=_bool(top, "test", "$"),
    )
