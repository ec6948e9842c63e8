"""The election definition in the ingest OpenAPI document (component schemas)."""

from __future__ import annotations

from typing import Any, get_args

from votewire.core.definition_decoder import COLOR, MAX_REGISTERED, RESERVED_REGION_ID
from votewire.core.models import AgainstAllRule, MajorityBase, ShareBase, WinnerRule
from votewire.ingest.openapi_blocks import (
    CHANNEL_ID_SCHEMA,
    ID,
    NAME,
    TURNOUT_MARK,
    closed_object,
    nullable,
    ref,
)


def definition_schemas() -> dict[str, Any]:
    """The definition as `definition_decoder` reads it, as far as JSON Schema can say:
    what it cannot (unique ids, known region, district and party ids, a district in the
    precinct's region, a region per precinct of a race spanning regions, ascending
    marks, seats at most the candidates, one seat for majority, text without lone
    surrogates) is a 422 naming the JSON path of each problem."""
    return {
        "ElectionDefinition": closed_object(
            {
                "election_id": {**CHANNEL_ID_SCHEMA, "description": "the same as in the URL"},
                "name": NAME,
                "date": {"type": "string", "format": "date"},
                "timezone": {**ID, "description": "IANA name, e.g. Asia/Almaty"},
                "turnout_marks": {
                    "type": "array",
                    "description": "strictly ascending",
                    "items": {"type": "string", "pattern": TURNOUT_MARK},
                },
                "share_base": {"enum": list(get_args(ShareBase))},
                "test": {"type": "boolean", "default": False},
                "parties": {
                    "type": "array",
                    "description": (
                        "the party registry (contract v2); when present, every candidate's "
                        "party is one of its party_id; absent: party is free text (v1)"
                    ),
                    "items": ref("Party"),
                },
                "districts": {"type": "array", "default": [], "items": ref("District")},
                "regions": {"type": "array", "items": ref("Region")},
                "races": {"type": "array", "items": ref("Race")},
            },
            optional=("test", "parties", "districts"),
        ),
        "Party": closed_object(
            {
                "party_id": {**CHANNEL_ID_SCHEMA, "description": "unique in the election"},
                "name": {"type": "string", "minLength": 1},
                "short_name": {
                    "type": "string",
                    "minLength": 1,
                    "description": "default: the name",
                },
                "color": nullable(
                    {"type": "string", "pattern": COLOR.pattern},
                    "#rrggbb; null or absent: a fallback colour is chosen",
                ),
            },
            optional=("short_name", "color"),
        ),
        "District": closed_object(
            {
                "district_id": {**CHANNEL_ID_SCHEMA, "description": "unique in the election"},
                "region_id": {**ID, "description": "one of the definition's regions"},
                "name": NAME,
            },
        ),
        "Region": closed_object(
            {
                "region_id": {
                    **CHANNEL_ID_SCHEMA,
                    "not": {"const": RESERVED_REGION_ID},
                    "description": (
                        f"part of live channel names; {RESERVED_REGION_ID!r} is reserved"
                    ),
                },
                "name": NAME,
                "timezone": {"type": ["string", "null"], "minLength": 1, "default": None},
            },
            optional=("timezone",),
        ),
        "Race": closed_object(
            {
                "race_id": CHANNEL_ID_SCHEMA,
                "name": NAME,
                "region_id": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "description": (
                        "one of the definition's regions; null: the race spans regions "
                        "and each precinct names its region_id"
                    ),
                },
                "office": NAME,
                "seats": {"type": "integer", "minimum": 1, "description": "<= candidates"},
                "against_all": {"type": "boolean"},
                "winner_rule": {"enum": list(get_args(WinnerRule))},
                "against_all_rule": {"enum": list(get_args(AgainstAllRule))},
                "majority_base": {
                    "enum": list(get_args(MajorityBase)),
                    "default": "ballots_cast",
                    "description": "what a majority race's winner needs more than half of",
                },
                "candidates": {"type": "array", "minItems": 1, "items": ref("Candidate")},
                "precincts": {"type": "array", "minItems": 1, "items": ref("Precinct")},
            },
            optional=("majority_base",),
        ),
        "Candidate": closed_object(
            {
                "candidate_id": ID,
                "name": NAME,
                "party": {**ID, "description": "a party_id of parties, if the definition has them"},
            }
        ),
        "Precinct": closed_object(
            {
                "precinct_id": ID,
                "name": NAME,
                "registered": {"type": "integer", "minimum": 0, "maximum": MAX_REGISTERED},
                "region_id": nullable(
                    {"type": "string", "minLength": 1},
                    "default: the race's region (required when the race's is null)",
                ),
                "district_id": nullable(
                    {"type": "string", "minLength": 1}, "one of the definition's districts"
                ),
            },
            optional=("region_id", "district_id"),
        ),
    }
