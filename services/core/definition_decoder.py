"""Strict decoding of an election definition (JSON object -> `ElectionDefinition`).

Part of the wire format; callers use it through `votewire.core.codec`.
A definition is trusted configuration, so decoding is strict: unknown keys,
wrong types, duplicate ids, dangling references and inconsistent rules are
all problems, each named by its JSON path, e.g.
``$.races[3].region_id: unknown region 'R9'``. Decoding goes on past a
problem wherever the rest can still be checked, so `definition_problems`
lists every problem at once (`election validate`); `decode_definition`
raises `DefinitionError` carrying them all (its message: the first, and how
many more).

Rules beyond plain types:
- ids are non-empty strings; region, race, district and party ids are unique
  in the election, candidate and precinct ids unique within their race; the
  election, region, race and district ids name live channels (`race:E:R`,
  `region:E:G`), and party ids appear in views and exports, so all of them
  are 1-128 of `A-Z a-z 0-9 _ . -` (`CHANNEL_ID`); a region id is not
  `RESERVED_REGION_ID` ("-": the group of races spanning regions in the
  paged race list `races:E:G:P`, `core.race_pages`);
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
- optional, with their defaults: `test` (false), `parties` (absent: no
  registry, `party` is free text as in contract v1), `districts` ([]), a
  region's `timezone` (null), a race's `majority_base` ("ballots_cast"), a
  precinct's `region_id` and `district_id` (null), a party's `short_name`
  (its name) and `color` (null). A v1 definition has none of them and
  decodes unchanged.

Speed: the path of an element is built only when it has a problem; a valid
precinct of the v1 shape, or with only a `region_id`, costs a key-set
comparison and a few type checks (200,000 precincts decode in about a
quarter of a second); one naming its district takes the general path.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

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
MAX_ELECTION_ID = 128
"""Characters of an `election_id`: it is in every key of the definitions topic."""
MAX_LISTED_PROBLEMS = 1000
"""Problems kept with their text; beyond that they are only counted."""
_MARK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHANNEL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
"""An id that is part of a live channel name (the grammar of `infra.views`): election,
region, race and district ids; party ids too (they appear in views and exports)."""
RESERVED_REGION_ID = "-"
"""No region's id: the group token of the races spanning regions in `races:E:G:P`
(`core.race_pages.SPANNING_GROUP`), so a page channel names one group only."""
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
"""A party colour: "#rrggbb"."""


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    """One thing wrong with a definition, at a JSON path (`$`, `$.races[3].seats`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class DefinitionError(ValueError):
    """The definition is unusable. `problems`: the first `MAX_LISTED_PROBLEMS`;
    `count`: all of them. The message is the first problem (path first)."""

    def __init__(self, problems: list[DefinitionProblem], count: int | None = None) -> None:
        self.problems = problems
        self.count = len(problems) if count is None else count
        more = self.count - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        super().__init__(f"{problems[0]}{tail}" if problems else "bad definition")


class _Problems:
    def __init__(self) -> None:
        self.listed: list[DefinitionProblem] = []
        self.count = 0

    def add(self, path: str, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(DefinitionProblem(path or "$", message))


Path = Callable[[], str]
"""A JSON path, built only when a problem needs it."""


def _at(parent: Path, key: str) -> Path:
    return lambda: f"{parent()}.{key}"


def _item(parent: Path, key: str, index: int) -> Path:
    return lambda: f"{parent()}.{key}[{index}]"


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Decoder:
    def __init__(self) -> None:
        self.problems = _Problems()

    def fail(self, path: Path, message: str) -> None:
        self.problems.add(path(), message)

    def obj(
        self, value: Any, path: Path, required: frozenset[str], optional: frozenset[str]
    ) -> bool:
        """True if `value` is an object with every required key (unknown keys are
        reported but do not stop the checks of the known ones)."""
        if not isinstance(value, dict):
            self.fail(path, "expected an object")
            return False
        keys = value.keys()
        if keys == required:
            return True
        missing = sorted(required - keys)
        if missing:
            self.fail(path, f"missing field(s) {', '.join(missing)}")
        extra = sorted(str(k) for k in keys - required - optional)
        if extra:
            self.fail(path, f"unknown field(s) {', '.join(extra)}")
        return not missing

    def str_(self, obj: dict[str, Any], key: str, path: Path, *, empty: bool = False) -> str | None:
        value = obj[key]
        if type(value) is not str or (not empty and not value):
            self.fail(_at(path, key), "expected a non-empty string")
            return None
        if not _utf8(value):
            self.fail(_at(path, key), "not valid Unicode text")
            return None
        return value

    def optional_str(self, obj: dict[str, Any], key: str, path: Path) -> tuple[str | None, bool]:
        """(an optional field that is a non-empty string or null (absent: null), whether it
        was one)."""
        if obj.get(key) is None:
            return None, True
        value = self.str_(obj, key, path)
        return value, value is not None

    def channel_id(self, obj: dict[str, Any], key: str, path: Path) -> str | None:
        """An id that is part of live channel names (`race:E:R`, `region:E:G`)."""
        value = self.str_(obj, key, path)
        if value is not None and not CHANNEL_ID.match(value):
            self.fail(_at(path, key), "expected 1-128 of A-Z a-z 0-9 _ . - (a channel id)")
            return None
        return value

    def int_(self, obj: dict[str, Any], key: str, path: Path, low: int, high: int) -> int | None:
        value = obj[key]
        if type(value) is float:
            # JSON Schema's "integer" admits 3.0; the contract does not (as for reports).
            self.fail(_at(path, key), f"expected an integer without a decimal point, got {value!r}")
            return None
        if type(value) is not int or not low <= value <= high:
            self.fail(_at(path, key), f"expected an integer in [{low}, {high}]")
            return None
        return value

    def bool_(self, obj: dict[str, Any], key: str, path: Path) -> bool:
        value = obj.get(key, False)
        if not isinstance(value, bool):
            self.fail(_at(path, key), "expected true or false")
            return False
        return value

    def choice(self, obj: dict[str, Any], key: str, path: Path, allowed: tuple[str, ...]) -> Any:
        value = obj[key]
        if not isinstance(value, str) or value not in allowed:
            self.fail(_at(path, key), f"expected one of {', '.join(allowed)}")
            return None
        return value

    def list_(self, obj: dict[str, Any], key: str, path: Path) -> list[Any]:
        value = obj[key]
        if not isinstance(value, list):
            self.fail(_at(path, key), "expected a list")
            return []
        return value

    def unique(self, ids: list[str | None], path: Path, key: str, what: str) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident is None:
                continue
            if ident in seen:
                self.fail(_item(path, key, i), f"duplicate {what} id {ident!r}")
            seen.add(ident)

    def region(self, value: Any, path: Path) -> Region | None:
        if not self.obj(value, path, _REGION_FIELDS, _REGION_OPTIONAL):
            return None
        tz = value.get("timezone")
        if tz is not None and (type(tz) is not str or not tz or not _utf8(tz)):
            self.fail(_at(path, "timezone"), "expected a non-empty string or null")
        region_id = self.channel_id(value, "region_id", path)
        if region_id == RESERVED_REGION_ID:
            self.fail(_at(path, "region_id"), f"{region_id!r} is reserved (races spanning regions)")
        name = self.str_(value, "name", path, empty=True)
        if region_id is None or name is None:
            return None
        return Region(region_id, name, tz if type(tz) is str and tz else None)

    def party(self, value: Any, path: Path) -> Party | None:
        if not self.obj(value, path, _PARTY_FIELDS, _PARTY_OPTIONAL):
            return None
        party_id = self.channel_id(value, "party_id", path)
        name = self.str_(value, "name", path)
        short_name = self.str_(value, "short_name", path) if "short_name" in value else name
        color, color_ok = self.optional_str(value, "color", path)
        if color is not None and not COLOR.match(color):
            self.fail(_at(path, "color"), f"expected a colour as #rrggbb, got {color[:20]!r}")
            color_ok = False
        if party_id is None or name is None or short_name is None or not color_ok:
            return None
        return Party(party_id, name, short_name, color)

    def district(self, value: Any, path: Path, regions: set[str]) -> District | None:
        if not self.obj(value, path, _DISTRICT_FIELDS, frozenset()):
            return None
        district_id = self.channel_id(value, "district_id", path)
        region_id = self.str_(value, "region_id", path)
        if region_id is not None and region_id not in regions:
            self.fail(_at(path, "region_id"), f"unknown region {region_id!r}")
        name = self.str_(value, "name", path, empty=True)
        if district_id is None or region_id is None or name is None:
            return None
        return District(district_id, region_id, name)

    def candidate(self, value: Any, path: Path, parties: set[str] | None) -> Candidate | None:
        if not self.obj(value, path, _CANDIDATE_FIELDS, frozenset()):
            return None
        cid = self.str_(value, "candidate_id", path)
        name = self.str_(value, "name", path, empty=True)
        party = self.str_(value, "party", path)
        if party is not None and parties is not None and party not in parties:
            self.fail(_at(path, "party"), f"unknown party {party!r} (not a party_id of $.parties)")
        if cid is None or name is None or party is None:
            return None
        return Candidate(cid, name, party)

    def precincts(
        self, items: list[Any], path: Path, race_region: str | None, where: _Places
    ) -> list[Precinct | None]:
        """The hot loop: 200,000 precincts in a national race. `race_region`: the race's
        region; None: it spans regions; `_UNREADABLE`: its region_id is broken."""
        out: list[Precinct | None] = []
        append = out.append
        regions = where.regions
        for i, value in enumerate(items):
            if type(value) is dict:
                keys = value.keys()
                own: Any = None
                if keys == _PRECINCT_FIELDS:
                    fast = race_region is not None
                elif keys == _PRECINCT_WITH_REGION:
                    own = value["region_id"]
                    fast = (
                        type(own) is str
                        and own in regions
                        and (race_region is None or own == race_region)
                    )
                else:
                    fast = False
                if fast:
                    pid, name, registered = value["precinct_id"], value["name"], value["registered"]
                    if (
                        type(pid) is str
                        and pid
                        and type(name) is str
                        and type(registered) is int
                        and 0 <= registered <= MAX_REGISTERED
                        and (pid.isascii() or _utf8(pid))
                        and (name.isascii() or _utf8(name))
                    ):
                        append(Precinct(pid, name, registered, own))
                        continue
            append(self.precinct(value, _item(path, "precincts", i), race_region, where))
        return out

    def precinct(
        self, value: Any, path: Path, race_region: str | None, where: _Places
    ) -> Precinct | None:
        if not self.obj(value, path, _PRECINCT_FIELDS, _PRECINCT_OPTIONAL):
            return None
        pid = self.str_(value, "precinct_id", path)
        name = self.str_(value, "name", path, empty=True)
        registered = self.int_(value, "registered", path, 0, MAX_REGISTERED)
        region_id, region_ok = self.optional_str(value, "region_id", path)
        district_id, district_ok = self.optional_str(value, "district_id", path)
        region = region_id or race_region
        if region_id is not None and region_id not in where.regions:
            self.fail(_at(path, "region_id"), f"unknown region {region_id!r}")
        elif race_region is None and region_id is None and region_ok:
            self.fail(_at(path, "region_id"), "required: the race spans regions (region_id null)")
        elif race_region and region_id not in (None, race_region):
            self.fail(
                _at(path, "region_id"),
                f"{region_id!r} is not the race's region {race_region!r} "
                "(a race spanning regions has region_id null)",
            )
        if district_id is not None:
            district = where.districts.get(district_id)
            if district is None:
                self.fail(_at(path, "district_id"), f"unknown district {district_id!r}")
            elif region in where.regions and district.region_id != region:
                self.fail(
                    _at(path, "district_id"),
                    f"district {district_id!r} is in region {district.region_id!r}, "
                    f"the precinct in {region!r}",
                )
        if pid is None or name is None or registered is None or not region_ok or not district_ok:
            return None
        return Precinct(pid, name, registered, region_id, district_id)

    def race(self, value: Any, path: Path, where: _Places) -> Race | None:
        if not self.obj(value, path, _RACE_FIELDS, _RACE_OPTIONAL):
            return None
        region_id: str | None = None
        region_ok = True
        if value["region_id"] is not None:  # null: the race spans regions
            region_id = self.str_(value, "region_id", path)
            region_ok = region_id is not None
            if region_id is not None and region_id not in where.regions:
                self.fail(_at(path, "region_id"), f"unknown region {region_id!r}")
        candidates = [
            self.candidate(c, _item(path, "candidates", i), where.parties)
            for i, c in enumerate(self.list_(value, "candidates", path))
        ]
        race_region = region_id if region_ok else _UNREADABLE
        precincts = self.precincts(self.list_(value, "precincts", path), path, race_region, where)
        if isinstance(value["candidates"], list) and not candidates:
            self.fail(_at(path, "candidates"), "a race needs at least one candidate")
        if isinstance(value["precincts"], list) and not precincts:
            self.fail(_at(path, "precincts"), "a race needs at least one precinct")
        self.unique(
            [c.candidate_id if c else None for c in candidates], path, "candidates", "candidate"
        )
        self.unique(
            [p.precinct_id if p else None for p in precincts], path, "precincts", "precinct"
        )
        winner_rule = self.choice(value, "winner_rule", path, get_args(WinnerRule))
        seats = self.int_(value, "seats", path, 1, max(1, len(candidates)))
        if winner_rule == "majority" and seats is not None and seats != 1:
            self.fail(_at(path, "seats"), "a majority race elects exactly one seat")
        against_all = value["against_all"]
        if not isinstance(against_all, bool):
            self.fail(_at(path, "against_all"), "expected true or false")
        against_all_rule = self.choice(value, "against_all_rule", path, get_args(AgainstAllRule))
        race_id = self.channel_id(value, "race_id", path)
        name = self.str_(value, "name", path, empty=True)
        office = self.str_(value, "office", path, empty=True)
        majority_base: MajorityBase | None = "ballots_cast"
        if "majority_base" in value:
            majority_base = self.choice(value, "majority_base", path, get_args(MajorityBase))
        fields = (race_id, name, office, seats, winner_rule, against_all_rule, majority_base)
        if any(f is None for f in fields) or not region_ok or not isinstance(against_all, bool):
            return None
        if None in candidates or None in precincts or not candidates or not precincts:
            return None
        return Race(
            race_id=race_id,  # type: ignore[arg-type]
            name=name,  # type: ignore[arg-type]
            region_id=region_id,
            office=office,  # type: ignore[arg-type]
            seats=seats,  # type: ignore[arg-type]
            against_all=against_all,
            winner_rule=winner_rule,
            against_all_rule=against_all_rule,
            candidates=tuple(candidates),  # type: ignore[arg-type]
            precincts=tuple(precincts),  # type: ignore[arg-type]
            majority_base=majority_base,  # type: ignore[arg-type]
        )

    def definition(self, obj: Any) -> ElectionDefinition | None:
        root: Path = lambda: "$"  # noqa: E731
        if not self.obj(obj, root, _TOP_FIELDS, _TOP_OPTIONAL) and not isinstance(obj, dict):
            return None
        got = obj.keys()  # with fields missing, the fields there are still checked
        election_id = self.channel_id(obj, "election_id", root) if "election_id" in got else None
        if election_id is not None and _CONTROL.search(election_id):
            self.fail(_at(root, "election_id"), "must not contain control characters")
        if election_id is not None and len(election_id) > MAX_ELECTION_ID:
            self.fail(_at(root, "election_id"), f"at most {MAX_ELECTION_ID} characters")
        day = self.str_(obj, "date", root) if "date" in got else None
        if day is not None:
            try:
                date.fromisoformat(day)
            except ValueError:
                self.fail(_at(root, "date"), f"expected an ISO date, got {day!r}")
        marks = self.list_(obj, "turnout_marks", root) if "turnout_marks" in got else []
        for i, mark in enumerate(marks):
            if not isinstance(mark, str) or not _MARK.match(mark):
                self.fail(_item(root, "turnout_marks", i), "expected a 'HH:MM' time")
            elif i and isinstance(marks[i - 1], str) and mark <= marks[i - 1]:
                self.fail(_item(root, "turnout_marks", i), "marks must be strictly ascending")
        region_items = self.list_(obj, "regions", root) if "regions" in got else []
        regions = [self.region(r, _item(root, "regions", i)) for i, r in enumerate(region_items)]
        self.unique([r.region_id if r else None for r in regions], root, "regions", "region")
        region_ids = {r.region_id for r in regions if r is not None}
        party_items = self.list_(obj, "parties", root) if "parties" in got else []
        parties = [self.party(p, _item(root, "parties", i)) for i, p in enumerate(party_items)]
        self.unique([p.party_id if p else None for p in parties], root, "parties", "party")
        district_items = self.list_(obj, "districts", root) if "districts" in got else []
        districts = [
            self.district(d, _item(root, "districts", i), region_ids)
            for i, d in enumerate(district_items)
        ]
        self.unique(
            [d.district_id if d else None for d in districts], root, "districts", "district"
        )
        # No registry, or one that is not a list (reported): a party is not checked. A
        # registered id counts even where its entry has other problems (reported there).
        registry = (
            {
                p["party_id"]
                for p in party_items
                if type(p) is dict and type(p.get("party_id")) is str
            }
            if isinstance(obj.get("parties"), list)
            else None
        )
        where = _Places(
            region_ids,
            {d.district_id: d for d in reversed(districts) if d},  # the first of a duplicate wins
            registry,
        )
        race_items = self.list_(obj, "races", root) if "races" in got else []
        races = [self.race(r, _item(root, "races", i), where) for i, r in enumerate(race_items)]
        self.unique([r.race_id if r else None for r in races], root, "races", "race")
        name = self.str_(obj, "name", root, empty=True) if "name" in got else None
        timezone = self.str_(obj, "timezone", root) if "timezone" in got else None
        share_base = (
            self.choice(obj, "share_base", root, get_args(ShareBase))
            if "share_base" in got
            else None
        )
        test = self.bool_(obj, "test", root)
        if self.problems.count:
            return None
        return ElectionDefinition(
            election_id=election_id,  # type: ignore[arg-type]
            name=name,  # type: ignore[arg-type]
            date=day,  # type: ignore[arg-type]
            timezone=timezone,  # type: ignore[arg-type]
            turnout_marks=tuple(marks),
            share_base=share_base,  # type: ignore[arg-type]
            regions=tuple(regions),  # type: ignore[arg-type]
            races=tuple(races),  # type: ignore[arg-type]
            test=test,
            parties=tuple(parties),  # type: ignore[arg-type]
            districts=tuple(districts),  # type: ignore[arg-type]
        )


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


_UNREADABLE = ""
"""The region of a race whose `region_id` is broken (never a region id): its precincts'
regions are then not held to it."""


_REGION_FIELDS = frozenset({"region_id", "name"})
_REGION_OPTIONAL = frozenset({"timezone"})
_CANDIDATE_FIELDS = frozenset({"candidate_id", "name", "party"})
_PRECINCT_FIELDS = frozenset({"precinct_id", "name", "registered"})
_PRECINCT_WITH_REGION = _PRECINCT_FIELDS | {"region_id"}
_PRECINCT_OPTIONAL = frozenset({"region_id", "district_id"})
_PARTY_FIELDS = frozenset({"party_id", "name"})
_PARTY_OPTIONAL = frozenset({"short_name", "color"})
_DISTRICT_FIELDS = frozenset({"district_id", "region_id", "name"})
_RACE_OPTIONAL = frozenset({"majority_base"})
_RACE_FIELDS = frozenset({
    "race_id", "name", "region_id", "office", "seats", "against_all",
    "winner_rule", "against_all_rule", "candidates", "precincts",
})  # fmt: skip
_TOP_FIELDS = frozenset({
    "election_id", "name", "date", "timezone", "turnout_marks", "share_base",
    "regions", "races",
})  # fmt: skip
_TOP_OPTIONAL = frozenset({"test", "parties", "districts"})


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic collector off for a bulk build of acyclic objects. Decoding a
    national definition allocates about a million objects, and the collector,
    run every few hundred allocations, would walk the whole parsed tree again
    and again (it doubles the time). Process-wide, so only for short, bounded work."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def definition_problems(obj: Any) -> tuple[ElectionDefinition | None, DefinitionError | None]:
    """(the definition, None), or (None, an error listing every problem)."""
    decoder = _Decoder()
    try:
        with paused_gc():
            definition = decoder.definition(obj)
    except RecursionError:
        return None, DefinitionError([DefinitionProblem("$", "nested too deeply")])
    if definition is None:
        problems = decoder.problems
        return None, DefinitionError(problems.listed, problems.count)
    return definition, None


def decode_definition(obj: Any) -> ElectionDefinition:
    """Decode and check a definition; raises `DefinitionError` listing every problem."""
    definition, error = definition_problems(obj)
    if error is not None:
        raise error
    assert definition is not None
    return definition
