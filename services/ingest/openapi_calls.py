"""Race calls in the ingest OpenAPI document: the schemas of a desk's call and of
the published call record, and `POST`/`DELETE .../races/{race_id}/call`.
"""

from __future__ import annotations

from typing import Any

from votewire.core.race_call import CALL_CODES, CALL_TYPES, MAX_NOTE
from votewire.ingest.openapi_blocks import (
    CHANNEL_ID_SCHEMA,
    ID,
    RETRY,
    answer,
    closed_object,
    error_answer,
    ref,
)


def call_schemas() -> dict[str, Any]:
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
                closed_object(
                    {
                        "type": {"const": "winner"},
                        "candidate_ids": {**ids, "minItems": 1},
                        "note": note,
                    },
                    optional=("note",),
                ),
                closed_object(
                    {
                        "type": {"const": "runoff"},
                        "candidate_ids": {**ids, "minItems": 2, "maxItems": 2},
                        "note": note,
                    },
                    optional=("note",),
                ),
                closed_object(
                    {
                        "type": {"const": "too_close"},
                        "candidate_ids": {**ids, "maxItems": 0},
                        "note": note,
                    },
                    optional=("note", "candidate_ids"),
                ),
            ],
        },
        "RaceCall": closed_object(
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
        "CallAnswer": closed_object({"status": {"const": "published"}, "call": ref("RaceCall")}),
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


def call_paths() -> dict[str, Any]:
    """The call path: a desk calls (POST) or retracts (DELETE) a race's call."""
    params = [
        {"name": name, "in": "path", "required": True, "schema": CHANNEL_ID_SCHEMA}
        for name in ("election_id", "race_id")
    ]
    refusals = {
        "401": error_answer("unauthenticated"),
        "403": error_answer("forbidden: not an editor credential of this election"),
        "404": error_answer("unknown_election or unknown_race"),
        "409": error_answer("election_retired"),
        "429": error_answer("rate_limited", **RETRY),
        "503": error_answer("unavailable: not published, retry", **RETRY),
    }
    published = answer(ref("CallAnswer"), "published on the reports topic, race's key")
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
                "content": {"application/json": {"schema": ref("CallRequest")}},
            },
            "responses": {
                "200": published,
                "400": error_answer("malformed_json"),
                "413": error_answer("body_too_large"),
                "415": error_answer("unsupported_media_type"),
                "422": answer(ref("CallRejected"), "bad_call"),
                **refusals,
            },
        },
        "delete": {
            "summary": "Retract the race's call (editor): a call of type `retracted`",
            "security": [{"bearerAuth": []}],
            "responses": {"200": published, **refusals},
        },
    }
