"""Schemathesis against a live ingest service on the real Kafka: every operation of the
served OpenAPI document, generated from it (examples, fuzzing, coverage), passes every
check Schemathesis has: no 5xx, answers as documented, schema-valid data accepted,
invalid data refused, auth enforced, undeclared methods answered 405 with Allow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.schemas import BaseSchema

from tests.integration.test_ingest_harness import (
    IngestServer,
    Tokens,
    running_ingest,
    write_credentials,
)
from tests.support.stack import isolated_env

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 50
"""Bounded: the whole module runs in well under a minute on the shared two-core machine."""

ANSWERED_UNLESS_STATE_SAYS_NO = ["2XX", "403", "404", "409", "422"]
"""What a schema-valid request may get: the schema cannot say which elections, races
and precincts exist, so a well-formed report for an unknown one is a 422 (and a
definition the decoder refuses for a rule beyond JSON Schema, e.g. duplicate ids).
`refused_only_beyond_the_schema` checks that such a 422 is for one of those."""

BEYOND_THE_SCHEMA = frozenset(
    {
        "unknown_election", "unknown_race", "unknown_precinct", "unknown_candidate",
        "unknown_mark", "against_all_not_allowed", "registered_mismatch",
        "ballots_exceed_registered", "sum_mismatch", "bad_report_id", "bad_timestamp",
        "out_of_scope", "report_id_conflict", "wrong_type", "election_retired",
    }
)  # fmt: skip
"""Report problems JSON Schema cannot rule out (the definition's contents, arithmetic
across fields, printable text, the calendar, an election retired by an earlier
generated request, and `wrong_type` for a count like 3.0, which
JSON Schema's "integer" admits and the contract does not); every other code means a
schema gap."""
DEFINITION_RULES_BEYOND_THE_SCHEMA = (
    "duplicate ", "unknown region", "unknown district", "unknown party", "strictly ascending",
    "exactly one seat", "not valid Unicode", ".seats: expected an integer in",
    "without a decimal point", "required: the race spans regions", "is not the race's region",
    "the precinct in",
)  # fmt: skip
"""`definition_decoder` refusals JSON Schema cannot rule out (ids unique and known,
a district in its precinct's region, a region per precinct of a race spanning regions,
ascending marks, seats at most the candidates, lone surrogates)."""


def refused_only_beyond_the_schema(ctx: CheckContext, response: Response, case: Case) -> None:
    """A schema-valid request refused with 422 is refused for a rule the schema cannot
    state: the document describes everything else the decoder and validator check."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 422:
        return
    body = response.json()
    if "error" in body:
        if body["error"]["code"] == "bad_definition":
            for problem in body["error"]["problems"]:
                message = f"{problem['path']}: {problem['message']}"
                assert any(rule in message for rule in DEFINITION_RULES_BEYOND_THE_SCHEMA), (
                    f"a schema-valid definition refused: {message}"
                )
        return
    codes = {p["code"] for r in body["results"] for p in r.get("problems", ())}
    assert codes <= BEYOND_THE_SCHEMA, f"schema-valid reports refused: {codes - BEYOND_THE_SCHEMA}"


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestServer, Tokens]]:
    path, tokens = write_credentials(tmp_path_factory.mktemp("schemathesis"))
    env = {
        **isolated_env("ingest-schemathesis"),
        "VOTEWIRE_CREDENTIALS_FILE": str(path),
        "VOTEWIRE_INGEST_RATE": "0",
    }
    with running_ingest(env) as server:
        yield server, tokens


@pytest.fixture(scope="module")
def api(ingest: tuple[IngestServer, Tokens]) -> BaseSchema:
    server, tokens = ingest
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {tokens.admin}"},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ANSWERED_UNLESS_STATE_SAYS_NO}
            },
        }
    )
    return schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_operation_conforms_to_the_document(case: Case) -> None:
    """Each generated request is answered as the document says, by every check."""
    case.call_and_validate(additional_checks=[refused_only_beyond_the_schema])
