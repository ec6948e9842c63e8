"""The JSON wire format (contract v2): the one place that encodes and decodes.

Definitions are decoded strictly (`decode_definition` raises `DefinitionError`
naming the offending path). Reports from untrusted sources go through
`votewire.core.validation.validate_report`, never through this module;
`decode_report_trusted` is the fast path for reports that were validated
before (read back from Kafka, a snapshot, a replay log) and trusts its input.

Bytes on the wire are compact JSON, keys sorted, UTF-8, non-ASCII kept as is
(`dumps`), so equal values always encode to equal bytes: `report_to_bytes` is
the canonical encoding the tally uses to break ties deterministically.
`reported_at` travels as ISO 8601 with a UTC offset ("2021-07-25T10:00:00+06:00").

Text from outside (a request body, a line of a file, a definition file) is
parsed by `loads_untrusted`: it raises only `MalformedJson`, whose message is
meant for the sender, and refuses JSON nested deeper than `MAX_DEPTH` arrays
and objects (a report nests 2 deep, a batch of them 3, a definition 5), so no
input can reach Python's recursion limit here or in whatever walks the value
later. `loads` is for this system's own bytes and checks nothing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import orjson
from votewire.core.definition_decoder import DefinitionError, decode_definition
from votewire.core.models import (
    ElectionDefinition,
    Precinct,
    Race,
    Report,
    ResultReport,
    TurnoutReport,
)

__all__ = [
    "MAX_DEPTH",
    "DefinitionError",
    "MalformedJson",
    "decode_definition",
    "decode_report_trusted",
    "dumps",
    "encode_definition",
    "encode_race",
    "encode_report",
    "loads",
    "loads_untrusted",
    "report_to_bytes",
]


_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


_EXPONENT = re.compile(rb"e-")
_TINY = re.compile(rb"0\.0000")


def _float_notation(out: bytes) -> bool:
    """Whether `out` may hold a float orjson writes otherwise than the standard library
    (`1e-05` vs `0.00001`): a digit before "e-", or "0.0000" (the text may be in a
    string). Literal searches, then a look at the byte before each "e-": a character
    class alternation (one pattern for both) costs ~25 times more on a 4 KB view."""
    if _TINY.search(out) is not None:
        return True
    return any(m.start() > 0 and 48 <= out[m.start() - 1] <= 57 for m in _EXPONENT.finditer(out))


def dumps(obj: Any) -> bytes:
    """Canonical bytes of a JSON-ready value: compact, sorted keys, UTF-8.

    The bytes are those of `json.dumps(obj, ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`, encoded as UTF-8; orjson writes them (several times
    faster: a view is encoded once per change). It agrees byte for byte on strings,
    integers, booleans, None, lists and dicts with string keys (keys sorted by
    code point, the same escapes); what it does not take (integers beyond 64 bits,
    other keys, datetimes, ...) and floats it writes in another notation (`1e-05`,
    tiny values) go through the standard library. One exception is knowingly left:
    NaN and infinities, which the standard library writes as non-JSON (`NaN`) and
    orjson as `null`; no document of this system carries a float (shares are strings,
    `core.percent`)."""
    try:
        out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
    except TypeError:
        return _stdlib_dumps(obj)
    if _float_notation(out):  # perhaps a tiny float
        return _stdlib_dumps(obj)
    return out


def _stdlib_dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> Any:
    """Parse JSON text this system wrote; raises `ValueError` (incl. `UnicodeDecodeError`).

    orjson parses (faster), into the same values as `json.loads`; what it refuses
    and the standard library takes (integers beyond 64 bits, `NaN`) is parsed by the
    standard library."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


MAX_DEPTH = 64
"""How deeply untrusted JSON may nest arrays and objects (see the module doc)."""


class MalformedJson(ValueError):
    """Text from outside that is not UTF-8 JSON, or nests deeper than `MAX_DEPTH`."""


def loads_untrusted(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON from outside; raises `MalformedJson` only, with a message for the sender."""
    try:
        value = json.loads(raw)
    except RecursionError:  # far deeper than max_depth: the C parser gave up first
        raise MalformedJson(f"nested deeper than {max_depth} arrays/objects") from None
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"not UTF-8 (byte {exc.start}: {exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError:  # Python's own limit on the digits of an integer
        raise MalformedJson("a number with too many digits") from None
    if isinstance(value, dict | list) and _deeper_than(value, max_depth):
        raise MalformedJson(f"nested deeper than {max_depth} arrays/objects")
    return value


def _deeper_than(node: dict[str, Any] | list[Any], levels: int) -> bool:
    """Whether `node` nests more than `levels` containers (itself included). Recursion is
    bounded by `levels`; measured at ~0.5 µs a report, a few % of parsing it."""
    if levels == 0:
        return True
    children: Any = node.values() if isinstance(node, dict) else node
    for child in children:
        if isinstance(child, dict | list) and _deeper_than(child, levels - 1):
            return True
    return False


def encode_precinct(p: Precinct) -> dict[str, Any]:
    """One precinct as its JSON object (`region_id`, `district_id` only when set)."""
    obj: dict[str, Any] = {"precinct_id": p.precinct_id, "name": p.name, "registered": p.registered}
    if p.region_id is not None:
        obj["region_id"] = p.region_id
    if p.district_id is not None:
        obj["district_id"] = p.district_id
    return obj


def encode_race(race: Race) -> dict[str, Any]:
    """One race of a definition as its JSON object (a v1 race stays a v1 object:
    `majority_base` is written only when it is not the default)."""
    obj: dict[str, Any] = {
        "race_id": race.race_id,
        "name": race.name,
        "region_id": race.region_id,
        "office": race.office,
        "seats": race.seats,
        "against_all": race.against_all,
        "winner_rule": race.winner_rule,
        "against_all_rule": race.against_all_rule,
        "candidates": [
            {"candidate_id": c.candidate_id, "name": c.name, "party": c.party}
            for c in race.candidates
        ],
        "precincts": [encode_precinct(p) for p in race.precincts],
    }
    if race.majority_base != "ballots_cast":
        obj["majority_base"] = race.majority_base
    return obj


def encode_definition(defn: ElectionDefinition) -> dict[str, Any]:
    """The definition as its JSON object; `decode_definition` inverts it exactly.

    Fields added after contract v1 are written only when set (`parties`,
    `districts`, a precinct's `region_id`/`district_id`, a race's non-default
    `majority_base`), so a v1 definition encodes to the v1 object it came from."""
    obj: dict[str, Any] = {
        "election_id": defn.election_id,
        "name": defn.name,
        "date": defn.date,
        "timezone": defn.timezone,
        "turnout_marks": list(defn.turnout_marks),
        "share_base": defn.share_base,
        "test": defn.test,
        "regions": [
            {"region_id": r.region_id, "name": r.name, "timezone": r.timezone} for r in defn.regions
        ],
        "races": [encode_race(r) for r in defn.races],
    }
    if defn.parties:
        obj["parties"] = [
            {"party_id": p.party_id, "name": p.name, "short_name": p.short_name, "color": p.color}
            for p in defn.parties
        ]
    if defn.districts:
        obj["districts"] = [
            {"district_id": d.district_id, "region_id": d.region_id, "name": d.name}
            for d in defn.districts
        ]
    return obj


def encode_report(report: Report) -> dict[str, Any]:
    """A report as its JSON object (all candidates listed in `votes`)."""
    if isinstance(report, TurnoutReport):
        return {
            "kind": "turnout",
            "report_id": report.report_id,
            "election_id": report.election_id,
            "race_id": report.race_id,
            "precinct_id": report.precinct_id,
            "mark": report.mark,
            "ballots_cast": report.ballots_cast,
            "revision": report.revision,
            "reported_at": report.reported_at.isoformat(),
        }
    return {
        "kind": "result",
        "report_id": report.report_id,
        "election_id": report.election_id,
        "race_id": report.race_id,
        "precinct_id": report.precinct_id,
        "registered": report.registered,
        "ballots_cast": report.ballots_cast,
        "votes": dict(report.votes),
        "against_all": report.against_all,
        "invalid": report.invalid,
        "revision": report.revision,
        "reported_at": report.reported_at.isoformat(),
    }


def report_to_bytes(report: Report) -> bytes:
    """The canonical encoding of a report (see `dumps`)."""
    return dumps(encode_report(report))


def decode_report_trusted(obj: Any) -> Report:
    """Rebuild a report from its JSON object without validating it.

    Only for objects this system encoded after validation; a malformed object
    raises `KeyError`/`ValueError`/`TypeError` or yields a nonsense report.
    """
    if obj["kind"] == "turnout":
        return TurnoutReport(
            report_id=obj["report_id"],
            election_id=obj["election_id"],
            race_id=obj["race_id"],
            precinct_id=obj["precinct_id"],
            mark=obj["mark"],
            ballots_cast=obj["ballots_cast"],
            revision=obj["revision"],
            reported_at=datetime.fromisoformat(obj["reported_at"]),
        )
    return ResultReport(
        report_id=obj["report_id"],
        election_id=obj["election_id"],
        race_id=obj["race_id"],
        precinct_id=obj["precinct_id"],
        registered=obj["registered"],
        ballots_cast=obj["ballots_cast"],
        votes=dict(obj["votes"]),
        against_all=obj["against_all"],
        invalid=obj["invalid"],
        revision=obj["revision"],
        reported_at=datetime.fromisoformat(obj["reported_at"]),
    )
