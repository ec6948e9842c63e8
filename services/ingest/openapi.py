"""The OpenAPI 3.1 description of the ingest API: one source, two outputs.

`openapi_document()` is served at /v1/openapi.json and written to
docs/ingest-openapi.json by `python -m votewire.ingest.openapi --write`
(a unit test checks the file is current, and that the document's paths and
methods are exactly the app's routes). Rejection codes come from the code
tables themselves (`validation.CODES`, `intake.INGEST_CODES`), so a new code
shows up here without a second edit.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, get_args

from votewire.config import REPO_ROOT
from votewire.core.definition_decoder import CHANNEL_ID, COLOR, MAX_REGISTERED
from votewire.core.models import AgainstAllRule, MajorityBase, ShareBase, WinnerRule
from votewire.core.race_call import CALL_CODES, CALL_TYPES, MAX_NOTE
from votewire.core.validation import CODES, MAX_COUNT
from votewire.ingest.intake import INGEST_CODES

DOC_PATH = REPO_ROOT / "docs" / "ingest-openapi.json"
REQUEST_CODES = {
    "unauthenticated": "401: no valid bearer token",
    "forbidden": "403: the credential may not do this (definitions need admin, calls an editor)",
    "body_too_large": "413: the body is over VOTEWIRE_INGEST_MAX_BODY_BYTES",
    "too_many_items": "413: more reports than VOTEWIRE_INGEST_MAX_ITEMS",
    "definition_too_large": "413: the definition is larger than Kafka accepts",
    "unsupported_media_type": "415: neither application/json nor application/x-ndjson",
    "malformed_json": "400: the body is not UTF-8 JSON (it is dead-lettered)",
    "empty_batch": "400: no report in the body",
    "bad_content_length": "400: the Content-Length header is not a number",
    "incomplete_body": "400: the client disconnected before sending the whole body",
    "rate_limited": "429: the credential's token bucket is empty; see Retry-After",
    "unavailable": "503: Kafka, the definitions or Redis are not there; see Retry-After",
    "unknown_election": "404: no definition for this election",
    "unknown_race": "404: no such race in the election",
    "election_retired": "409: the election was retired; it takes no race calls",
    "bad_call": "422: the call does not fit the race; every problem is under `problems`",
    "bad_definition": "422: the definition does not decode",
    "election_id_mismatch": "422: the definition's election_id differs from the URL",
    "not_found": "404: no such path",
    "method_not_allowed": "405: the path does not take this method; Allow lists those it does",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "integer"}}
            for name, text in headers.items()
        }
    return answer


def _error(description: str, **headers: str) -> dict[str, Any]:
    return _json(_ref("Error"), description, **headers)


TURNOUT_MARK = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A 'HH:MM' clock time, as `definition_decoder` reads it."""
ID = {"type": "string", "minLength": 1}
CHANNEL_ID_SCHEMA = {
    "type": "string",
    "pattern": CHANNEL_ID.pattern,
    "description": "part of live channel names",
}
NAME = {"type": "string"}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object: every property required but the `optional` ones."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(set(properties) - set(optional)),
        "properties": properties,
    }


RETRY = {"Retry-After": "seconds to wait before retrying"}
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
_COMMON_REPORT = {
    "report_id": {"type": "string", "minLength": 1, "maxLength": 128},
    "election_id": {"type": "string"},
    "race_id": {"type": "string"},
    "precinct_id": {"type": "string"},
    "ballots_cast": COUNT,
    "revision": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    "reported_at": {
        "type": "string",
        "format": "date-time",
        "maxLength": 64,
        "description": "ISO 8601 with a UTC offset",
    },
}


def _report_schema(kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    return _object({"kind": {"const": kind}, **_COMMON_REPORT, **extra})


def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A string `schema` or null (an optional field whose absence means null)."""
    return {**schema, "type": ["string", "null"], "default": None, "description": description}


def _definition_schemas() -> dict[str, Any]:
    """The definition as `definition_decoder` reads it, as far as JSON Schema can say:
    what it cannot (unique ids, known region, district and party ids, a district in the
    precinct's region, a region per precinct of a race spanning regions, ascending
    marks, seats at most the candidates, one seat for majority, text without lone
    surrogates) is a 422 naming the JSON path of each problem."""
    return {
        "ElectionDefinition": _object(
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
                    "items": _ref("Party"),
                },
                "districts": {"type": "array", "default": [], "items": _ref("District")},
                "regions": {"type": "array", "items": _ref("Region")},
                "races": {"type": "array", "items": _ref("Race")},
            },
            optional=("test", "parties", "districts"),
        ),
        "Party": _object(
            {
                "party_id": {**CHANNEL_ID_SCHEMA, "description": "unique in the election"},
                "name": {"type": "string", "minLength": 1},
                "short_name": {
                    "type": "string",
                    "minLength": 1,
                    "description": "default: the name",
                },
                "color": _nullable(
                    {"type": "string", "pattern": COLOR.pattern},
                    "#rrggbb; null or absent: a fallback colour is chosen",
                ),
            },
            optional=("short_name", "color"),
        ),
        "District": _object(
            {
                "district_id": {**CHANNEL_ID_SCHEMA, "description": "unique in the election"},
                "region_id": {**ID, "description": "one of the definition's regions"},
                "name": NAME,
            },
        ),
        "Region": _object(
            {
                "region_id": CHANNEL_ID_SCHEMA,
                "name": NAME,
                "timezone": {"type": ["string", "null"], "minLength": 1, "default": None},
            },
            optional=("timezone",),
        ),
        "Race": _object(
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
                "candidates": {"type": "array", "minItems": 1, "items": _ref("Candidate")},
                "precincts": {"type": "array", "minItems": 1, "items": _ref("Precinct")},
            },
            optional=("majority_base",),
        ),
        "Candidate": _object(
            {
                "candidate_id": ID,
                "name": NAME,
                "party": {**ID, "description": "a party_id of parties, if the definition has them"},
            }
        ),
        "Precinct": _object(
            {
                "precinct_id": ID,
                "name": NAME,
                "registered": {"type": "integer", "minimum": 0, "maximum": MAX_REGISTERED},
                "region_id": _nullable(
                    {"type": "string", "minLength": 1},
                    "default: the race's region (required when the race's is null)",
                ),
                "district_id": _nullable(
                    {"type": "string", "minLength": 1}, "one of the definition's districts"
                ),
            },
            optional=("region_id", "district_id"),
        ),
    }


def _call_schemas() -> dict[str, Any]:
    """A desk's call as the body states it, and the call record ingest publishes."""
    note = {"type": "string", "maxLength": MAX_NOTE, "description": "for the newsroom"}
    ids = {"type": "array", "uniqueItems": True, "items": ID}
    return {
        "CallRequest": {
            "description": (
                "What a desk calls. The race decides the rest (a 422 `bad_call`): winner "
                "names at most `seats` candidates, every id is a candidate of the race, a "
                "runoff is possible only in a majority race."
            ),
            "oneOf": [
                _object(
                    {
                        "type": {"const": "winner"},
                        "candidate_ids": {**ids, "minItems": 1},
                        "note": note,
                    },
                    optional=("note",),
                ),
                _object(
                    {
                        "type": {"const": "runoff"},
                        "candidate_ids": {**ids, "minItems": 2, "maxItems": 2},
                        "note": note,
                    },
                    optional=("note",),
                ),
                _object(
                    {
                        "type": {"const": "too_close"},
                        "candidate_ids": {**ids, "maxItems": 0},
                        "note": note,
                    },
                    optional=("note", "candidate_ids"),
                ),
            ],
        },
        "RaceCall": _object(
            {
                "kind": {"const": "call"},
                "call_id": {"type": "string"},
                "election_id": {"type": "string"},
                "race_id": {"type": "string"},
                "type": {"enum": list(CALL_TYPES)},
                "candidate_ids": {"type": "array", "items": {"type": "string"}},
                "note": {"type": "string"},
                "called_at": {"type": "string", "format": "date-time"},
                "called_by": {"type": "string", "description": "the credential id"},
            }
        ),
        "CallAnswer": _object({"status": {"const": "published"}, "call": _ref("RaceCall")}),
        "CallRejected": {
            "type": "object",
            "required": ["error", "problems"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"const": "bad_call"}, "message": {"type": "string"}},
                },
                "problems": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["code", "field", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": sorted(CALL_CODES)},
                            "field": {"type": ["string", "null"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def _call_paths() -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": CHANNEL_ID_SCHEMA}
        for name in ("election_id", "race_id")
    ]
    refusals = {
        "401": _error("unauthenticated"),
        "403": _error("forbidden: not an editor credential of this election"),
        "404": _error("unknown_election or unknown_race"),
        "409": _error("election_retired"),
        "429": _error("rate_limited", **RETRY),
        "503": _error("unavailable: not published, retry", **RETRY),
    }
    published = _json(_ref("CallAnswer"), "published on the reports topic, race's key")
    return {
        "parameters": params,
        "post": {
            "summary": "Call the race (editor): winner, runoff or too close",
            "description": (
                "The call is kept beside the computed outcome in the race view (`call`), "
                "never instead of it; the newest call stands. See docs/contract.md. Codes "
                "of `problems`: " + "; ".join(f"`{c}`: {m}" for c, m in sorted(CALL_CODES.items()))
            ),
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("CallRequest")}},
            },
            "responses": {
                "200": published,
                "400": _error("malformed_json"),
                "413": _error("body_too_large"),
                "415": _error("unsupported_media_type"),
                "422": _json(_ref("CallRejected"), "bad_call"),
                **refusals,
            },
        },
        "delete": {
            "summary": "Retract the race's call (editor): a call of type `retracted`",
            "security": [{"bearerAuth": []}],
            "responses": {"200": published, **refusals},
        },
    }


def _schemas() -> dict[str, Any]:
    problem_codes = sorted({*CODES, *INGEST_CODES})
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": sorted(REQUEST_CODES)},
                        "message": {"type": "string"},
                        "problems": {
                            "type": "array",
                            "description": (
                                "bad_definition only: every problem found (at most 100), "
                                "each with the JSON path at fault"
                            ),
                            "items": {
                                "type": "object",
                                "required": ["path", "message"],
                                "properties": {
                                    "path": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            },
        },
        "Problem": {
            "type": "object",
            "required": ["code", "field", "message"],
            "properties": {
                "code": {"type": "string", "enum": problem_codes},
                "field": {"type": ["string", "null"]},
                "message": {"type": "string"},
            },
        },
        "Accepted": {
            "type": "object",
            "required": ["status", "report_id"],
            "properties": {
                "status": {"const": "accepted"},
                "report_id": {"type": "string"},
                "duplicate": {"const": True, "description": "a retry; not published again"},
            },
        },
        "Rejected": {
            "type": "object",
            "required": ["status", "report_id", "problems"],
            "properties": {
                "status": {"const": "rejected"},
                "report_id": {"type": ["string", "null"]},
                "problems": {"type": "array", "minItems": 1, "items": _ref("Problem")},
            },
        },
        "BatchAnswer": {
            "type": "object",
            "required": ["accepted", "rejected", "results"],
            "properties": {
                "accepted": {"type": "integer", "minimum": 0},
                "rejected": {"type": "integer", "minimum": 0},
                "results": {
                    "type": "array",
                    "description": "one per report, in the order sent",
                    "items": {"oneOf": [_ref("Accepted"), _ref("Rejected")]},
                },
            },
        },
        "TurnoutReport": _report_schema("turnout", {"mark": {"type": "string"}}),
        "ResultReport": _report_schema(
            "result",
            {
                "registered": COUNT,
                "votes": {"type": "object", "additionalProperties": COUNT},
                "against_all": COUNT,
                "invalid": COUNT,
            },
        ),
        "Report": {"oneOf": [_ref("TurnoutReport"), _ref("ResultReport")]},
        **_definition_schemas(),
        **_call_schemas(),
    }


def _reports_post() -> dict[str, Any]:
    batch = {
        "type": "array",
        "minItems": 1,
        "description": "at most VOTEWIRE_INGEST_MAX_ITEMS reports (default 1000)",
        "items": _ref("Report"),
    }
    reports = {"oneOf": [_ref("Report"), batch]}
    return {
        "summary": "Submit one report, a JSON array of reports, or NDJSON",
        "description": (
            "Each report is validated, checked against the sender's scope and for "
            "idempotency; accepted ones are answered only after Kafka acknowledged them, "
            "refused ones are written to the dead-letter topic. Rejection codes: "
            + "; ".join(f"`{c}`: {m}" for c, m in sorted({**CODES, **INGEST_CODES}.items()))
        ),
        "security": [{"bearerAuth": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": reports},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "one report per line"}
                },
            },
        },
        "responses": {
            "200": _json(_ref("BatchAnswer"), "every report accepted (or a duplicate)"),
            "207": _json(_ref("BatchAnswer"), "some accepted, some rejected"),
            "400": _error("malformed_json or empty_batch"),
            "401": _error("unauthenticated"),
            "403": _json(_ref("BatchAnswer"), "none accepted, all out of the sender's scope"),
            "409": _json(_ref("BatchAnswer"), "none accepted, all report_id conflicts"),
            "413": _error("body_too_large or too_many_items"),
            "415": _error("unsupported_media_type"),
            "422": _json(_ref("BatchAnswer"), "none accepted"),
            "429": _error("rate_limited", **RETRY),
            "503": _error("unavailable: nothing was stored, retry the whole request", **RETRY),
        },
    }


def _election_paths() -> dict[str, Any]:
    param = {"name": "election_id", "in": "path", "required": True, "schema": CHANNEL_ID_SCHEMA}
    stored = {
        "type": "object",
        "properties": {"election_id": {"type": "string"}, "status": {"const": "stored"}},
    }
    return {
        "parameters": [param],
        "get": {
            "summary": "Read an election definition",
            "security": [{"bearerAuth": []}],
            "responses": {
                "200": _json(_ref("ElectionDefinition"), "the definition"),
                "401": _error("unauthenticated"),
                "404": _error("unknown_election"),
                "503": _error("unavailable: definitions not loaded yet", **RETRY),
            },
        },
        "put": {
            "summary": "Load or replace an election definition (admin)",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("ElectionDefinition")}},
            },
            "responses": {
                "200": _json(stored, "stored on the definitions topic"),
                "400": _error("malformed_json"),
                "401": _error("unauthenticated"),
                "403": _error("forbidden: not an admin credential"),
                "413": _error("body_too_large or definition_too_large"),
                "422": _error("bad_definition or election_id_mismatch"),
                "503": _error("unavailable", **RETRY),
            },
        },
    }


def _retirement_paths() -> dict[str, Any]:
    param = {"name": "election_id", "in": "path", "required": True, "schema": CHANNEL_ID_SCHEMA}
    retired = _object(
        {
            "election_id": {"type": "string"},
            "status": {"const": "retired"},
            "retired_at": {"type": "string", "format": "date-time"},
            "retired_by": {"type": "string", "description": "the credential id"},
        }
    )
    active = _object({"election_id": {"type": "string"}, "status": {"const": "active"}})
    refusals = {
        "401": _error("unauthenticated"),
        "403": _error("forbidden: not an admin credential"),
        "404": _error("unknown_election"),
        "503": _error("unavailable: not published, retry", **RETRY),
    }
    return {
        "parameters": [param],
        "post": {
            "summary": "Retire an election (admin): hidden from listings, no new reports",
            "description": (
                "Publishes the election's retirement on the definitions topic. Its views "
                "stay readable by channel; reports for it are then refused with "
                "`election_retired` (dead-lettered). Retiring again answers the first "
                "retirement. See docs/ingest.md."
            ),
            "security": [{"bearerAuth": []}],
            "responses": {"200": _json(retired, "retired (now or before)"), **refusals},
        },
        "delete": {
            "summary": "Withdraw an election's retirement (admin)",
            "security": [{"bearerAuth": []}],
            "responses": {"200": _json(active, "not retired (now or before)"), **refusals},
        },
    }


def _plain(description: str, media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "votewire ingest API",
            "version": "1",
            "description": "The only way reports enter votewire. See docs/ingest.md.",
        },
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _plain("alive")}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness: Kafka connected, definitions loaded, Redis answering",
                    "responses": {"200": _plain("ready"), "503": _plain("not ready")},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": _plain("exposition format 0.0.4", "text/plain")},
                }
            },
            "/v1/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": _plain("OpenAPI 3.1")}}
            },
            "/v1/elections/{election_id}": _election_paths(),
            "/v1/reports": {"post": _reports_post()},
            "/v1/elections/{election_id}/races/{race_id}/call": _call_paths(),
            "/v1/elections/{election_id}/retirement": _retirement_paths(),
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


def render() -> str:
    """The document as the text kept in docs/ingest-openapi.json."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print or write the ingest OpenAPI document.")
    parser.add_argument("--write", action="store_true", help=f"write {DOC_PATH}")
    args = parser.parse_args(argv)
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
