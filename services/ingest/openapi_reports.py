"""The reports in the ingest OpenAPI document: their schemas, the answers to
them, and `POST /v1/reports`. Rejection codes come from the code tables
themselves (`validation.CODES`, `intake.INGEST_CODES`).
"""

from __future__ import annotations

from typing import Any

from votewire.core.validation import CODES
from votewire.ingest.intake import INGEST_CODES
from votewire.ingest.openapi_blocks import COUNT, RETRY, answer, closed_object, error_answer, ref

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
    return closed_object({"kind": {"const": kind}, **_COMMON_REPORT, **extra})


def report_schemas() -> dict[str, Any]:
    """The reports and the answers to them (`Problem`: every rejection code)."""
    problem_codes = sorted({*CODES, *INGEST_CODES})
    return {
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
                "problems": {"type": "array", "minItems": 1, "items": ref("Problem")},
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
                    "items": {"oneOf": [ref("Accepted"), ref("Rejected")]},
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
        "Report": {"oneOf": [ref("TurnoutReport"), ref("ResultReport")]},
    }


def reports_post() -> dict[str, Any]:
    """`POST /v1/reports`: one report, an array or NDJSON."""
    batch = {
        "type": "array",
        "minItems": 1,
        "description": "at most VOTEWIRE_INGEST_MAX_ITEMS reports (default 1000)",
        "items": ref("Report"),
    }
    reports = {"oneOf": [ref("Report"), batch]}
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
            "200": answer(ref("BatchAnswer"), "every report accepted (or a duplicate)"),
            "207": answer(ref("BatchAnswer"), "some accepted, some rejected"),
            "400": error_answer("malformed_json or empty_batch"),
            "401": error_answer("unauthenticated"),
            "403": answer(ref("BatchAnswer"), "none accepted, all out of the sender's scope"),
            "409": answer(ref("BatchAnswer"), "none accepted, all report_id conflicts"),
            "413": error_answer("body_too_large or too_many_items"),
            "415": error_answer("unsupported_media_type"),
            "422": answer(ref("BatchAnswer"), "none accepted"),
            "429": error_answer("rate_limited", **RETRY),
            "503": error_answer(
                "unavailable: nothing was stored, retry the whole request", **RETRY
            ),
        },
    }
