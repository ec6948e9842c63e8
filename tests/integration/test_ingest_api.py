"""The ingest API against the real Kafka and Redis: topic contents, rejections and
dead letters, credentials and scopes, idempotency, limits, metrics."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from votewire.config import Settings
from votewire.core.codec import MAX_DEPTH, decode_report_trusted, report_to_bytes
from votewire.core.report_headers import credential_of
from votewire.ingest.openapi import openapi_document

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

MAX_ITEMS = 50
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IngestServer, Tokens]]:
    """One ingest server for the module: credentials on, small limits, default rate off."""
    path, tokens = write_credentials(tmp_path_factory.mktemp("creds"), MAX_ITEMS)
    env = {
        **isolated_env("ingest-api"),
        "VOTEWIRE_CREDENTIALS_FILE": str(path),
        "VOTEWIRE_INGEST_MAX_ITEMS": str(MAX_ITEMS),
        "VOTEWIRE_INGEST_MAX_BODY_BYTES": str(MAX_BODY),
        "VOTEWIRE_INGEST_RATE": "0",
    }
    with running_ingest(env) as server:
        yield server, tokens


@pytest.fixture
async def http(deployment: tuple[IngestServer, Tokens]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=deployment[0].url, timeout=20) as client:
        yield client


@pytest.fixture
def tokens(deployment: tuple[IngestServer, Tokens]) -> Tokens:
    return deployment[1]


@pytest.fixture
def settings(deployment: tuple[IngestServer, Tokens]) -> Settings:
    return deployment[0].settings


@pytest.fixture
async def election(http: httpx.AsyncClient, tokens: Tokens) -> str:
    """A fresh election for this test (r2 without an against-all line)."""
    election_id = f"e-{uuid.uuid4().hex[:10]}"
    definition = tiny_definition(election_id)
    definition["races"][1]["against_all"] = False
    answer = await http.put(
        f"/v1/elections/{election_id}", json=definition, headers=tokens.headers("admin")
    )
    assert answer.status_code == 200, answer.text
    return election_id


def r1p1(election: str, rid: str, **over: Any) -> dict[str, Any]:
    votes = {"c1": 400, "c2": 300}
    return {**result_report(rid, "r1", "p1", 1000, votes, 50, 10, election_id=election), **over}


def r2p3(election: str, rid: str) -> dict[str, Any]:
    return result_report(rid, "r2", "p3", 800, {"c3": 300, "c4": 200}, 0, 5, election_id=election)


def ndjson(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


async def mine(settings: Settings, topic: str, marker: str) -> list[tuple[str, dict[str, Any]]]:
    """This test's records of `topic` (those mentioning `marker`), read to the end."""
    records = decoded(await read_to_end(settings.kafka_bootstrap, topic))
    return [(k, v) for k, v in records if marker in json.dumps(v)]


async def test_accepted_reports_are_on_the_topic_once_keyed_by_race(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """Single, array and NDJSON posts are acknowledged, and each report is on the
    reports topic exactly once, keyed "<election>/<race>", even after client retries;
    each record's value is the canonical report, its header the sending credential."""
    rig = tokens.headers("rig")
    single = r1p1(election, "a")
    array = [
        r2p3(election, "b"),
        r1p1(
            election,
            "c",
            precinct_id="p2",
            registered=500,
            votes={"c1": 200, "c2": 100},
            ballots_cast=360,
        ),
    ]
    lines = ndjson(json.dumps(r2p3(election, "d") | {"revision": 2}))
    ndjson_headers = rig | {"Content-Type": "application/x-ndjson"}
    for _attempt in range(2):  # the second round is a client retrying everything
        posted = [
            await http.post("/v1/reports", json=single, headers=rig),
            await http.post("/v1/reports", json=array, headers=rig),
            await http.post("/v1/reports", content=lines, headers=ndjson_headers),
        ]
        assert [p.status_code for p in posted] == [200, 200, 200], [p.text for p in posted]
        results = [r for p in posted for r in p.json()["results"]]
        assert [r["report_id"] for r in results] == ["a", "b", "c", "d"]
        assert all(r["status"] == "accepted" for r in results)
    assert all(r.get("duplicate") for r in results)
    on_topic = await mine(settings, settings.reports_topic, election)
    assert Counter(v["report_id"] for _, v in on_topic) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert {v["report_id"]: k for k, v in on_topic} == {
        "a": f"{election}/r1",
        "b": f"{election}/r2",
        "c": f"{election}/r1",
        "d": f"{election}/r2",
    }
    raw = [
        r
        for r in await read_to_end(settings.kafka_bootstrap, settings.reports_topic)
        if election.encode() in (r.key or b"")
    ]
    assert {credential_of(r.headers) for r in raw} == {"rig"}  # the sender, on every record
    assert all(r.value == report_to_bytes(decode_report_trusted(json.loads(r.value))) for r in raw)


def rule_breakers(e: str) -> list[tuple[str, str]]:
    """(expected first code, NDJSON line) for every rule a payload can break."""
    ok = r1p1(e, "x")
    turnout = {
        k: ok[k] for k in ("election_id", "race_id", "precinct_id", "revision", "reported_at")
    } | {"kind": "turnout", "mark": "10:00", "ballots_cast": 100}
    cases: list[tuple[str, Any]] = [
        ("not_an_object", [e]),
        ("unknown_kind", ok | {"kind": "exit_poll", "report_id": "v-kind"}),
        (
            "missing_field",
            {k: v for k, v in ok.items() if k != "invalid"} | {"report_id": "v-miss"},
        ),
        ("unknown_field", ok | {"report_id": "v-unknown", "comment": "x"}),
        ("wrong_type", ok | {"report_id": "v-type", "invalid": 10.0}),
        ("bad_report_id", ok | {"report_id": "bad\u0000id"}),
        ("bad_revision", ok | {"report_id": "v-rev", "revision": 0}),
        ("bad_timestamp", ok | {"report_id": "v-ts", "reported_at": "2026-07-25 21:05"}),
        ("negative_count", ok | {"report_id": "v-neg", "invalid": -1}),
        ("absurd_count", ok | {"report_id": "v-absurd", "invalid": 10**8}),
        ("unknown_election", ok | {"report_id": "v-elec", "election_id": f"{e}-nope"}),
        ("unknown_race", ok | {"report_id": "v-race", "race_id": "r9"}),
        ("unknown_precinct", ok | {"report_id": "v-prec", "precinct_id": "p9"}),
        ("unknown_candidate", ok | {"report_id": "v-cand", "votes": {"c1": 400, "c9": 300}}),
        ("unknown_mark", turnout | {"report_id": "v-mark", "mark": "11:11"}),
        ("against_all_not_allowed", r2p3(e, "v-aa") | {"against_all": 5, "invalid": 0}),
        ("registered_mismatch", ok | {"report_id": "v-regm", "registered": 2000}),
        (
            "ballots_exceed_registered",
            ok | {"report_id": "v-exceed", "votes": {"c1": 1000, "c2": 40}, "ballots_cast": 1100},
        ),
        ("sum_mismatch", ok | {"report_id": "v-sum", "ballots_cast": 761}),
    ]
    lines = [(code, json.dumps(payload)) for code, payload in cases]
    return [*lines, ("malformed_json", '{"report_id": "v-json", "election_id": "' + e + '",')]


async def test_every_rule_rejects_and_leaves_a_dead_letter(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """Each validation rule yields its code in the answer and a dead letter holding the
    reason, the raw line as sent and the sender's credential id (not its token)."""
    cases = rule_breakers(election)
    headers = tokens.headers("rig") | {"Content-Type": "application/x-ndjson"}
    answer = await http.post(
        "/v1/reports", content=ndjson(*(line for _, line in cases)), headers=headers
    )
    assert answer.status_code == 422, answer.text
    results = answer.json()["results"]
    assert [r["problems"][0]["code"] for r in results] == [code for code, _ in cases]
    assert all(r["status"] == "rejected" for r in results)
    letters = [v for _, v in await mine(settings, settings.dead_letter_topic, election)]
    by_payload = {v["payload"]: v for v in letters}
    for code, line in cases:
        letter = by_payload[line]
        assert letter["reason"] == code
        assert letter["sender"] == {"credential_id": "rig", "via": "http", "peer": "127.0.0.1"}
    assert tokens.rig not in json.dumps(letters)
    assert await mine(settings, settings.reports_topic, election) == []


async def test_credentials_are_required_and_admin_only_for_definitions(
    http: httpx.AsyncClient, tokens: Tokens, election: str
) -> None:
    """No or unknown token: 401 with a Bearer challenge; definitions need admin (403)."""
    report = r1p1(election, "auth-1")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": tokens.rig}):
        refused = await http.post("/v1/reports", json=report, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
        assert refused.headers["www-authenticate"].startswith("Bearer")
    definition = tiny_definition(election)
    put = await http.put(
        f"/v1/elections/{election}", json=definition, headers=tokens.headers("north")
    )
    assert put.status_code == 403 and put.json()["error"]["code"] == "forbidden"
    assert (await http.get(f"/v1/elections/{election}")).status_code == 401
    got = await http.get(f"/v1/elections/{election}", headers=tokens.headers("north"))
    assert got.status_code == 200 and got.json()["election_id"] == election


async def test_scopes_limit_what_each_credential_may_report(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """Region, race and precinct scopes: inside accepted, outside refused per item (403
    when nothing passes, 207 in a mixed batch) and dead-lettered with the sender."""
    north, p3, r1 = tokens.headers("north"), tokens.headers("p3"), tokens.headers("r1")
    assert (
        await http.post("/v1/reports", json=r1p1(election, "s-1"), headers=north)
    ).status_code == 200
    outside = await http.post("/v1/reports", json=r2p3(election, "s-2"), headers=north)
    assert outside.status_code == 403
    assert outside.json()["results"][0]["problems"][0]["code"] == "out_of_scope"
    assert (
        await http.post("/v1/reports", json=r2p3(election, "s-3"), headers=p3)
    ).status_code == 200
    mixed = await http.post(
        "/v1/reports", json=[r2p3(election, "s-4"), r1p1(election, "s-5")], headers=p3
    )
    assert mixed.status_code == 207
    assert [r["status"] for r in mixed.json()["results"]] == ["accepted", "rejected"]
    assert (
        await http.post("/v1/reports", json=r2p3(election, "s-6"), headers=r1)
    ).status_code == 403
    on_topic = {v["report_id"] for _, v in await mine(settings, settings.reports_topic, election)}
    assert on_topic == {"s-1", "s-3", "s-4"}
    letters = [v for _, v in await mine(settings, settings.dead_letter_topic, election)]
    assert sorted((v["report_id"], v["sender"]["credential_id"], v["reason"]) for v in letters) == [
        ("s-2", "desk-north", "out_of_scope"),
        ("s-5", "commission-p3", "out_of_scope"),
        ("s-6", "race-r1", "out_of_scope"),
    ]


async def test_a_changed_report_under_a_used_id_is_refused_across_processes(
    deployment: tuple[IngestServer, Tokens],
    http: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    election: str,
) -> None:
    """The seen ids live in Redis: a second ingest process treats a retry as a duplicate
    and a changed report under the same id as report_id_conflict (409, dead-lettered)."""
    rig = tokens.headers("rig")
    first = r1p1(election, "idem-1")
    assert (await http.post("/v1/reports", json=first, headers=rig)).status_code == 200
    env = deployment[0].env  # a second process of the same deployment
    with running_ingest(env) as other:
        async with httpx.AsyncClient(base_url=other.url, timeout=20) as second:
            retry = await second.post("/v1/reports", json=first, headers=rig)
            changed = first | {"invalid": 9, "ballots_cast": 759}
            conflict = await second.post("/v1/reports", json=changed, headers=rig)
    assert retry.status_code == 200 and retry.json()["results"][0]["duplicate"] is True
    assert conflict.status_code == 409
    assert conflict.json()["results"][0]["problems"][0]["code"] == "report_id_conflict"
    on_topic = [v for _, v in await mine(settings, settings.reports_topic, election)]
    assert [(v["report_id"], v["invalid"]) for v in on_topic] == [("idem-1", 10)]
    letters = [v for _, v in await mine(settings, settings.dead_letter_topic, election)]
    assert [(v["report_id"], v["reason"]) for v in letters] == [("idem-1", "report_id_conflict")]


async def test_size_count_and_type_limits_are_clear_4xx(
    http: httpx.AsyncClient, tokens: Tokens, election: str
) -> None:
    """Too big (declared or streamed), too many items, wrong type: 413/413/415, no 500."""
    rig = tokens.headers("rig")
    big = json.dumps([r1p1(election, f"big-{i}") for i in range(MAX_ITEMS)]).encode()
    big += b" " * MAX_BODY
    declared = await http.post("/v1/reports", content=big, headers=rig)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    streamed = await http.post("/v1/reports", content=chunks(), headers=rig)  # chunked
    assert streamed.status_code == 413
    many = [r1p1(election, f"many-{i}") for i in range(MAX_ITEMS + 1)]
    too_many = await http.post("/v1/reports", json=many, headers=rig)
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "too_many_items"
    odd = await http.post("/v1/reports", content=b"{}", headers=rig | {"Content-Type": "text/csv"})
    assert odd.status_code == 415


async def test_the_rate_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, tokens: Tokens, election: str
) -> None:
    """A credential that spent its bucket gets 429 and Retry-After; others are unaffected."""
    slow = tokens.headers("slow")
    batch = [r1p1(election, f"rate-{i}") for i in range(MAX_ITEMS)]
    assert (await http.post("/v1/reports", json=batch, headers=slow)).status_code == 200
    limited = await http.post("/v1/reports", json=r1p1(election, "rate-x"), headers=slow)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    other = await http.post(
        "/v1/reports", json=r1p1(election, "rate-x"), headers=tokens.headers("rig")
    )
    assert other.status_code == 200


async def test_an_unparsable_body_is_refused_and_dead_lettered(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """A body that is not JSON: 400 malformed_json, recorded with the text received."""
    body = ('{"report_id": "' + election + '", ').encode()
    answer = await http.post("/v1/reports", content=body, headers=tokens.headers("north"))
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed_json"
    [(key, letter)] = await mine(settings, settings.dead_letter_topic, election)
    assert key == "desk-north" and letter["payload"] == body.decode()
    assert letter["reason"] == "malformed_json" and letter["report_id"] is None


async def test_deep_nesting_and_empty_bodies_get_their_documented_codes(
    http: httpx.AsyncClient, tokens: Tokens
) -> None:
    """A body nested 30,000 deep is malformed_json naming the limit (no Python internals);
    an empty or whitespace body is empty_batch, as docs/ingest.md says."""
    rig = tokens.headers("rig")
    deep = await http.post("/v1/reports", content=b"[" * 30_000, headers=rig)
    assert deep.status_code == 400
    assert deep.json()["error"] == {
        "code": "malformed_json",
        "message": f"not valid JSON: nested deeper than {MAX_DEPTH} arrays/objects",
    }
    for body in (b"", b" \n"):
        empty = await http.post("/v1/reports", content=body, headers=rig)
        assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_batch"


async def test_hostile_strings_are_answered_and_recorded_not_a_500(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """Lone surrogates in ids, keys and definitions come back escaped in a 4xx answer
    and in the dead letter; they never break the response encoding."""
    line = json.dumps(r1p1(election, "\ud800") | {"\udc00": 1})
    headers = tokens.headers("rig") | {"Content-Type": "application/x-ndjson"}
    answer = await http.post("/v1/reports", content=line.encode(), headers=headers)
    assert answer.status_code == 422, answer.text
    [result] = answer.json()["results"]
    assert {p["code"] for p in result["problems"]} == {"bad_report_id", "unknown_field"}
    [letter] = [v for _, v in await mine(settings, settings.dead_letter_topic, election)]
    assert letter["payload"] == line
    definition = tiny_definition(f"{election}-x") | {"name": "\ud800"}
    put = await http.put(
        f"/v1/elections/{election}-x",
        content=json.dumps(definition).encode(),  # ASCII JSON, "\\ud800" escaped
        headers=tokens.headers("admin"),
    )
    assert put.status_code == 422 and put.json()["error"]["code"] == "bad_definition"


async def test_a_refused_definition_lists_every_problem_with_its_path(
    http: httpx.AsyncClient, tokens: Tokens, election: str
) -> None:
    """A definition with an unknown party and a bad colour is answered 422 bad_definition
    with both problems, each with its JSON path, and is not stored."""
    definition = tiny_definition(f"{election}-p")
    definition["parties"] = [
        {"party_id": "nur_otan", "name": "Nur Otan", "color": "blue"},
        {"party_id": "independent", "name": "Self-nominated"},
    ]
    put = await http.put(
        f"/v1/elections/{election}-p", json=definition, headers=tokens.headers("admin")
    )
    assert put.status_code == 422, put.text
    error = put.json()["error"]
    assert error["code"] == "bad_definition"
    assert [(p["path"], p["message"][:20]) for p in error["problems"]] == [
        ("$.parties[0].color", "expected a colour as"),
        ("$.races[1].candidates[0].party", "unknown party 'auyl'"),
    ]
    got = await http.get(f"/v1/elections/{election}-p", headers=tokens.headers("admin"))
    assert got.status_code == 404


async def test_an_editor_calls_and_retracts_a_race_on_its_reports_partition(
    http: httpx.AsyncClient, tokens: Tokens, settings: Settings, election: str
) -> None:
    """Only an editor may call; a call that does not fit the race is a 422 naming every
    problem; a call and its retraction are on the reports topic under the race's key,
    with who called and when."""
    path = f"/v1/elections/{election}/races/r1/call"
    winner = {"type": "winner", "candidate_ids": ["c1"], "note": "Decision desk"}
    assert (await http.post(path, json=winner)).status_code == 401
    refused = await http.post(path, json=winner, headers=tokens.headers("rig"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    admin = tokens.headers("admin")
    bad = await http.post(path, json={"type": "winner", "candidate_ids": ["c9", "c1"]},
                          headers=admin)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_call"
    assert [p["code"] for p in bad.json()["problems"]] == ["unknown_candidate", "bad_candidates"]
    missing = await http.post(f"/v1/elections/{election}/races/r9/call", json=winner, headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_race"
    nobody = await http.post("/v1/elections/nobody/races/r1/call", json=winner, headers=admin)
    assert nobody.status_code == 404 and nobody.json()["error"]["code"] == "unknown_election"
    typed = await http.post(path, content=b"x", headers=admin | {"Content-Type": "text/plain"})
    assert typed.status_code == 415
    called = await http.post(path, json=winner, headers=admin)
    assert called.status_code == 200, called.text
    call = called.json()["call"]
    assert (call["type"], call["called_by"], call["note"]) == ("winner", "admin", "Decision desk")
    retracted = await http.delete(path, headers=admin)
    assert retracted.status_code == 200 and retracted.json()["call"]["type"] == "retracted"
    assert (await http.get(path, headers=admin)).status_code == 405
    on_topic = [(k, v) for k, v in await mine(settings, settings.reports_topic, election)
                if v.get("kind") == "call"]  # fmt: skip
    assert on_topic == [
        (f"{election}/r1", call),
        (f"{election}/r1", retracted.json()["call"]),
    ]


async def test_metrics_openapi_health_and_readiness_are_served(
    http: httpx.AsyncClient, tokens: Tokens, election: str
) -> None:
    """/metrics (Prometheus text, parsed with prometheus_client) counts what happened, with
    responses by status and refusal code; the OpenAPI document is the generated one."""
    rig = tokens.headers("rig")
    await http.post("/v1/reports", json=r1p1(election, "m-1"), headers=rig)
    await http.post("/v1/reports", json=r1p1(election, "m-2", invalid=-1), headers=rig)
    await http.post("/v1/reports", json=r1p1(election, "m-3"))  # no token
    answer = await http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    p = "votewire_ingest_"
    assert found[(p + "reports_accepted_total", ())] >= 1
    assert found[(p + "reports_rejected_total", (("reason", "negative_count"),))] >= 1
    assert found[(p + "produce_latency_seconds_count", ())] >= 1
    assert found[(p + "open_dev_mode", ())] == 0
    assert found[(p + "responses_total", (("code", ""), ("status", "200")))] >= 1
    refused = (("code", "unauthenticated"), ("status", "401"))
    assert found[(p + "responses_total", refused)] >= 1
    assert (await http.get("/v1/openapi.json")).json() == openapi_document()
    assert (await http.get("/healthz")).json() == {"status": "ok", "auth": "credentials"}
    ready = (await http.get("/readyz")).json()
    assert ready["ready"] is True and ready["checks"] == {
        "kafka": True,
        "definitions": True,
        "redis": True,
    }


def test_a_definition_over_kafkas_record_limit_loads_and_over_its_body_limit_is_413() -> None:
    """1.5 MB (over Kafka's 1 MiB record limit) loads, as parts; a body over
    VOTEWIRE_INGEST_MAX_DEFINITION_BYTES is refused before it is read whole (413)."""
    env = {**isolated_env("ingest-big"), "VOTEWIRE_INGEST_MAX_DEFINITION_BYTES": str(2 * 2**20)}
    definition = tiny_definition("huge-1") | {"name": "n" * (3 * 2**19)}
    too_big = tiny_definition("huge-1") | {"name": "n" * (3 * 2**20)}
    with running_ingest(env) as server:  # open dev mode: no credentials needed
        answer = httpx.put(f"{server.url}/v1/elections/huge-1", json=definition, timeout=20)
        refused = httpx.put(f"{server.url}/v1/elections/huge-1", json=too_big, timeout=20)
        back = httpx.get(f"{server.url}/v1/elections/huge-1", timeout=20)
    assert answer.status_code == 200, answer.text
    assert back.json()["name"] == definition["name"]
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "body_too_large"
