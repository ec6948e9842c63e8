"""The OpenAPI 3.1 description of the ingest API: one source, two outputs.

`openapi_document()` is served at /v1/openapi.json and written to
docs/ingest-openapi.json by `python -m votewire.ingest.openapi --write`
(a unit test checks the file is current, and that the document's paths and
methods are exactly the app's routes). Rejection codes come from the code
tables themselves (`validation.CODES`, `intake.INGEST_CODES`), so a new code
shows up here without a second edit.

The parts: `openapi_blocks` (shared building blocks, request error codes),
`openapi_reports`, `openapi_definition`, `openapi_calls`, `openapi_elections`;
this module puts them together and writes the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from votewire.config import REPO_ROOT
from votewire.ingest.openapi_blocks import REQUEST_CODES, TURNOUT_MARK, error_schema
from votewire.ingest.openapi_calls import call_paths, call_schemas
from votewire.ingest.openapi_definition import definition_schemas
from votewire.ingest.openapi_elections import election_paths, retirement_paths
from votewire.ingest.openapi_reports import report_schemas, reports_post

__all__ = ["DOC_PATH", "REQUEST_CODES", "TURNOUT_MARK", "main", "openapi_document", "render"]

DOC_PATH = REPO_ROOT / "docs" / "ingest-openapi.json"


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
            "/v1/elections/{election_id}": election_paths(),
            "/v1/reports": {"post": reports_post()},
            "/v1/elections/{election_id}/races/{race_id}/call": call_paths(),
            "/v1/elections/{election_id}/retirement": retirement_paths(),
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": error_schema(),
                **report_schemas(),
                **definition_schemas(),
                **call_schemas(),
            },
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
