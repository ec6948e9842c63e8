"""The building blocks of the ingest OpenAPI document (`ingest.openapi`).

References to component schemas, JSON and error answers, closed objects, the
scalar schemas the parts share, and the request-level error codes with the
`Error` schema that lists them. The functions build fresh dicts; the
constants are shared by the parts, which copy them (`{**ID, ...}`), never
change them.
"""

from __future__ import annotations

from typing import Any

from votewire.core.definition_decoder import CHANNEL_ID
from votewire.core.validation import MAX_COUNT

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


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def answer(schema: dict[str, Any], description: str, **headers: str) -> dict[str, Any]:
    """A JSON response of `schema`, with integer `headers` (name -> description)."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "integer"}}
            for name, text in headers.items()
        }
    return response


def error_answer(description: str, **headers: str) -> dict[str, Any]:
    """A response with the `Error` body."""
    return answer(ref("Error"), description, **headers)


TURNOUT_MARK = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A 'HH:MM' clock time, as `definition_decoder` reads it."""
ID = {"type": "string", "minLength": 1}
CHANNEL_ID_SCHEMA = {
    "type": "string",
    "pattern": CHANNEL_ID.pattern,
    "description": "part of live channel names",
}
NAME = {"type": "string"}


def closed_object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object: every property required but the `optional` ones."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(set(properties) - set(optional)),
        "properties": properties,
    }


def nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A string `schema` or null (an optional field whose absence means null)."""
    return {**schema, "type": ["string", "null"], "default": None, "description": description}


RETRY = {"Retry-After": "seconds to wait before retrying"}
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}


def error_schema() -> dict[str, Any]:
    """`Error`: the body of every refusal of a whole request (`REQUEST_CODES`)."""
    return {
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
    }
