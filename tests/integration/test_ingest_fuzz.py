"""Hypothesis throws malformed bodies at the real ingest API: it never answers 500 (or
503 while Kafka is up), and never accepts a report the domain core would reject or
the sender may not send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from votewire.core.codec import decode_definition
from votewire.core.validation import Accepted, validate_report

from tests.integration.test_ingest_harness import (
    IngestServer,
    Tokens,
    decoded,
    read_to_end,
    running_ingest,
    write_credentials,
)
from tests.support.definitions import result_report, tiny_definition
from tests.support.stack import isolated_env

pytestmark = pytest.mark.integration

ELECTION = "fuzz-2026"
DEFINITION = decode_definition(tiny_definition(ELECTION))
MAX_ITEMS = 20
ANSWERED = {200, 207, 403, 409, 422}
REFUSED = {400, 413, 415}
NORTH_RACES = {"r1"}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestServer, Tokens]]:
    path, tokens = write_credentials(tmp_path_factory.mktemp("fuzz"), MAX_ITEMS)
    env = {
        **isolated_env("ingest-fuzz"),
        "VOTEWIRE_CREDENTIALS_FILE": str(path),
        "VOTEWIRE_INGEST_MAX_ITEMS": str(MAX_ITEMS),
        "VOTEWIRE_INGEST_MAX_BODY_BYTES": "16384",
        "VOTEWIRE_INGEST_RATE": "0",
    }
    with running_ingest(env) as server:
        put = httpx.put(
            f"{server.url}/v1/elections/{ELECTION}",
            json=tiny_definition(ELECTION),
            headers=tokens.headers("admin"),
            timeout=20,
        )
        assert put.status_code == 200, put.text
        yield server, tokens


any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # lone surrogates too
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "kind",
    "report_id",
    "election_id",
    "race_id",
    "precinct_id",
    "registered",
    "ballots_cast",
    "votes",
    "against_all",
    "invalid",
    "revision",
    "reported_at",
    "mark",
]


def base_reports() -> st.SearchStrategy[dict[str, Any]]:
    r1 = result_report(
        "f-1", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10, election_id=ELECTION
    )
    r2 = result_report("f-2", "r2", "p3", 800, {"c3": 300, "c4": 200}, 0, 5, election_id=ELECTION)
    turnout = {
        k: r1[k] for k in ("election_id", "race_id", "precinct_id", "revision", "reported_at")
    }
    turnout |= {"kind": "turnout", "report_id": "f-3", "mark": "10:00", "ballots_cast": 90}
    return st.sampled_from([r1, r2, turnout])


@st.composite
def mutated_reports(draw: st.DrawFn) -> dict[str, Any]:
    """A valid report, then a few random edits: set, drop or add fields; reuse ids."""
    report = dict(draw(base_reports()))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["set", "drop", "add", "id"]))
        if op == "set":
            report[draw(st.sampled_from(FIELDS))] = draw(json_values)
        elif op == "drop" and report:
            report.pop(draw(st.sampled_from(sorted(report))))
        elif op == "add":
            report[draw(any_text)] = draw(json_values)
        else:
            report["report_id"] = draw(st.sampled_from(["f-1", "f-2", "f-3", "f-4", "", "\ud800"]))
    return report


def ndjson_line() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_reports().map(lambda r: json.dumps(r).encode()),
        st.binary(max_size=40).filter(lambda b: b"\n" not in b),
        json_values.map(lambda v: json.dumps(v).encode()),
    )


bodies = st.one_of(
    st.tuples(
        st.binary(max_size=300), st.sampled_from(["application/json", "application/x-ndjson"])
    ),
    st.tuples(json_values.map(lambda v: json.dumps(v).encode()), st.just("application/json")),
    st.tuples(mutated_reports().map(lambda r: json.dumps(r).encode()), st.just("application/json")),
    st.tuples(
        st.lists(mutated_reports(), min_size=1, max_size=MAX_ITEMS + 2).map(
            lambda rs: json.dumps(rs).encode()
        ),
        st.sampled_from(["application/json", "application/json; charset=utf-8", ""]),
    ),
    st.tuples(
        st.lists(ndjson_line(), min_size=1, max_size=8).map(lambda ls: b"\n".join(ls)),
        st.just("application/x-ndjson"),
    ),
    st.tuples(st.binary(max_size=50), st.sampled_from(["text/plain", "application/xml", "*/*"])),
)


def sent_items(body: bytes, content_type: str) -> list[tuple[bool, Any]]:
    """What the test itself reads from the body: (parsed, value) per item."""
    if content_type.startswith("application/x-ndjson"):
        out = []
        for line in body.split(b"\n"):
            if not line.strip(b" \t\r\n"):  # JSON whitespace only: b"\x1c" is an item
                continue
            try:
                out.append((True, json.loads(line.decode("utf-8"))))
            except (ValueError, RecursionError):
                out.append((False, None))
        return out
    value = json.loads(body.decode("utf-8"))
    return [(True, v) for v in value] if isinstance(value, list) else [(True, value)]


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies, who=st.sampled_from(["rig", "north", "nobody", "garbage"]))
def test_malformed_bodies_never_crash_and_nothing_invalid_is_accepted(
    fuzz_target: tuple[IngestServer, Tokens], body: tuple[bytes, str], who: str
) -> None:
    """Every answer is a documented 4xx or a per-item answer whose accepted items are
    exactly reports the core accepts and the sender's scope covers."""
    server, tokens = fuzz_target
    content, content_type = body
    headers = {"Content-Type": content_type} if content_type else {}
    if who in ("rig", "north"):
        headers |= tokens.headers(who)
    elif who == "garbage":
        headers["Authorization"] = "Bearer not-a-configured-token"
    answer = httpx.post(f"{server.url}/v1/reports", content=content, headers=headers, timeout=30)
    if who in ("nobody", "garbage"):
        assert answer.status_code == 401, answer.text
        return
    assert answer.status_code in ANSWERED | REFUSED, (answer.status_code, answer.text)
    if answer.status_code in REFUSED:
        assert set(answer.json()) == {"error"}
        return
    items = sent_items(content, content_type or "application/json")
    results = answer.json()["results"]
    assert len(results) == len(items)
    for (parsed, value), result in zip(items, results, strict=True):
        if result["status"] != "accepted":
            assert result["status"] == "rejected" and result["problems"]
            continue
        assert parsed, "an unparsable line was accepted"
        verdict = validate_report(value, DEFINITION)
        assert isinstance(verdict, Accepted), (value, result)
        assert verdict.report.report_id == result["report_id"]
        assert who == "rig" or verdict.report.race_id in NORTH_RACES


async def test_after_the_fuzzing_everything_on_the_topic_is_valid_and_unique(
    fuzz_target: tuple[IngestServer, Tokens],
) -> None:
    """Runs after the fuzz test (file order): each report on the topic is valid, and no
    report_id appears twice (duplicates and conflicts never reached Kafka)."""
    server, _ = fuzz_target
    records = decoded(
        await read_to_end(server.settings.kafka_bootstrap, server.settings.reports_topic)
    )
    ids = [value["report_id"] for _, value in records]
    assert ids, "the fuzzing never got a report accepted: the checks above were vacuous"
    assert len(ids) == len(set(ids))
    for key, value in records:
        assert isinstance(validate_report(value, DEFINITION), Accepted)
        assert key == f"{ELECTION}/{value['race_id']}"
