"""The OpenAPI document: docs copy current, routes and codes in agreement (pure)."""

from __future__ import annotations

import json

from starlette.routing import Route
from votewire.core import definition_decoder
from votewire.core.validation import CODES
from votewire.ingest.app import ROUTES
from votewire.ingest.intake import INGEST_CODES
from votewire.ingest.openapi import DOC_PATH, TURNOUT_MARK, openapi_document, render


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


def test_each_path_is_one_route_so_405_lists_every_method() -> None:
    """Starlette answers a method a path does not take from the first route of that path:
    two routes of one path would leave the other's methods out of `Allow`."""
    paths = [route.path for route in ROUTES if isinstance(route, Route)]
    assert len(paths) == len(set(paths))


def test_the_definition_schema_reads_marks_as_the_decoder_does() -> None:
    """TURNOUT_MARK is the decoder's own pattern, and every field of the decoder has a
    typed property (a Schemathesis run found them untyped)."""
    assert definition_decoder._MARK.pattern == TURNOUT_MARK
    schemas = openapi_document()["components"]["schemas"]
    for name in (
        "ElectionDefinition", "Region", "Race", "Candidate", "Precinct", "Party", "District",
    ):  # fmt: skip
        properties = schemas[name]["properties"]
        assert set(schemas[name]["required"]) <= set(properties)
        assert all("type" in p or "enum" in p or "$ref" in p or "items" in p
                   for p in properties.values()), name  # fmt: skip
    assert set(schemas["ElectionDefinition"]["properties"]) == {
        *definition_decoder._TOP_FIELDS, "test", "parties", "districts",
    }  # fmt: skip
    assert set(schemas["Race"]["required"]) == definition_decoder._RACE_FIELDS


def test_a_batch_holds_at_least_one_report() -> None:
    """An empty array is `empty_batch` (400): the document says minItems 1."""
    post = openapi_document()["paths"]["/v1/reports"]["post"]
    [_, batch] = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert batch["minItems"] == 1
