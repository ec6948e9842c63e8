"""Election paths in the ingest OpenAPI document: reading and loading a definition
(`/v1/elections/{election_id}`) and retiring an election (`.../retirement`).
"""

from __future__ import annotations

from typing import Any

from votewire.ingest.openapi_blocks import (
    CHANNEL_ID_SCHEMA,
    RETRY,
    answer,
    closed_object,
    error_answer,
    ref,
)


def election_paths() -> dict[str, Any]:
    """GET a definition, PUT (admin) one."""
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
                "200": answer(ref("ElectionDefinition"), "the definition"),
                "401": error_answer("unauthenticated"),
                "404": error_answer("unknown_election"),
                "503": error_answer("unavailable: definitions not loaded yet", **RETRY),
            },
        },
        "put": {
            "summary": "Load or replace an election definition (admin)",
            "security": [{"bearerAuth": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("ElectionDefinition")}},
            },
            "responses": {
                "200": answer(stored, "stored on the definitions topic"),
                "400": error_answer("malformed_json"),
                "401": error_answer("unauthenticated"),
                "403": error_answer("forbidden: not an admin credential"),
                "413": error_answer("body_too_large or definition_too_large"),
                "422": error_answer("bad_definition or election_id_mismatch"),
                "503": error_answer("unavailable", **RETRY),
            },
        },
    }


def retirement_paths() -> dict[str, Any]:
    """POST (retire) and DELETE (withdraw) an election's retirement, admin only."""
    param = {"name": "election_id", "in": "path", "required": True, "schema": CHANNEL_ID_SCHEMA}
    retired = closed_object(
        {
            "election_id": {"type": "string"},
            "status": {"const": "retired"},
            "retired_at": {"type": "string", "format": "date-time"},
            "retired_by": {"type": "string", "description": "the credential id"},
        }
    )
    active = closed_object({"election_id": {"type": "string"}, "status": {"const": "active"}})
    refusals = {
        "401": error_answer("unauthenticated"),
        "403": error_answer("forbidden: not an admin credential"),
        "404": error_answer("unknown_election"),
        "503": error_answer("unavailable: not published, retry", **RETRY),
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
            "responses": {"200": answer(retired, "retired (now or before)"), **refusals},
        },
        "delete": {
            "summary": "Withdraw an election's retirement (admin)",
            "security": [{"bearerAuth": []}],
            "responses": {"200": answer(active, "not retired (now or before)"), **refusals},
        },
    }
