"""The OpenAPI document: docs copy current, routes and codes in agreement (pure)."""

from __future__ import annotations

import json

from starlette.routing import Route
from votewire.core.validation import CODES
from votewire.ingest.app import ROUTES
from votewire.ingest.intake import INGEST_CODES
from votewire.ingest.openapi import DOC_PATH, openapi_document, render


def test_the_docs_copy_is_the_generated_document() -> None:
    """docs/ingest-openapi.json is exactly what `python -m votewire.ingest.openapi --write`
    writes; regenerate it when this fails."""
    assert DOC_PATH.read_text(encoding="utf-8") == render()
    assert json.loads(DOC_PATH.read_text(encoding="utf-8")) == openapi_document()


def test_documented_paths_and_methods_are_the_app_routes() -> None:
    """Every route is documented and every documented operation is routed."""
    routed = {
        (route.path, method.lower())
        for route in ROUTES
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routed == documented


def test_every_rejection_code_is_documented() -> None:
    """Problem codes in the schema are the core's plus ingest's own."""
    schema = openapi_document()["components"]["schemas"]["Problem"]
    assert set(schema["properties"]["code"]["enum"]) == set(CODES) | set(INGEST_CODES)


def test_refusals_of_reports_document_retry_after() -> None:
    """429 and 503 answers carry Retry-After in the description clients read."""
    responses = openapi_document()["paths"]["/v1/reports"]["post"]["responses"]
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
