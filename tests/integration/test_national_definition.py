"""A national definition (200,000 precincts, ~20 MB) through a real ingest and the real Kafka:
it loads, every record stays small, a DefinitionCatalog (what aggregate and live read) gets
it whole, it survives a restart, GET answers it whole, and a new revision supersedes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from votewire.core.codec import dumps, encode_definition
from votewire.core.definition_records import PART_TEXT_BYTES, header_of
from votewire.core.models import ElectionDefinition
from votewire.core.scenario.national import national_definition
from votewire.infra.definition_catalog import DefinitionCatalog

from tests.integration.test_ingest_harness import IngestServer, read_to_end, running_ingest
from tests.support.stack import isolated_env

pytestmark = pytest.mark.integration

PRECINCTS = 200_000
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def national() -> ElectionDefinition:
    return national_definition(PRECINCTS)


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return isolated_env("national-def")  # open dev mode: every request is admin


@pytest.fixture
def ingest(env: dict[str, str]) -> Iterator[IngestServer]:
    with running_ingest(env) as server:
        yield server


async def catalog_copy(server: IngestServer) -> dict[str, ElectionDefinition]:
    """What a process starting now (an aggregate worker, a live instance) reads."""
    catalog = DefinitionCatalog(server.settings.kafka_bootstrap, server.settings.definitions_topic)
    await catalog.start()
    try:
        return catalog.all()
    finally:
        await catalog.stop()


async def test_a_national_definition_loads_reaches_readers_and_survives_restarts(
    national: ElectionDefinition, env: dict[str, str]
) -> None:
    """PUT 20 MB: 200; GET gives the same bytes back; every record on the topic is at most
    a part plus its envelope; a new catalog decodes it equal; a restarted ingest serves it."""
    document = dumps(encode_definition(national))
    assert len(document) > 19_000_000
    url = f"/v1/elections/{national.election_id}"
    with running_ingest(env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            put = await http.put(url, content=document, headers=JSON_HEADERS)
            assert put.status_code == 200, put.text
            assert put.json()["bytes"] == len(document)
            got = await http.get(url)
            assert got.status_code == 200 and got.content == document
        records = await read_to_end(
            server.settings.kafka_bootstrap, server.settings.definitions_topic
        )
        assert max(len(r.value) for r in records) <= PART_TEXT_BYTES + 512
        headers = [header_of(r.value) for r in records if r.key == national.election_id.encode()]
        assert [h.revision for h in headers if h] == [put.json()["revision"]]
        assert (await catalog_copy(server))[national.election_id] == national
    with running_ingest(env) as restarted:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=120) as http:
            got = await http.get(url)
    assert got.status_code == 200 and json.loads(got.content) == json.loads(document)


async def test_a_new_revision_supersedes_and_tombstones_the_old_parts(
    national: ElectionDefinition, ingest: IngestServer
) -> None:
    """A second PUT with a new name: readers see the new one; the first revision's parts are
    tombstoned (compaction then drops them); an invalid PUT lists its problems by path."""
    url = f"/v1/elections/{national.election_id}"
    renamed = replace(national, name="Renamed national election")
    async with httpx.AsyncClient(base_url=ingest.url, timeout=120) as http:
        first = await http.put(
            url, content=dumps(encode_definition(national)), headers=JSON_HEADERS
        )
        second = await http.put(
            url, content=dumps(encode_definition(renamed)), headers=JSON_HEADERS
        )
        assert first.status_code == second.status_code == 200
        broken = encode_definition(national)
        broken["races"][0]["precincts"][7]["registered"] = -1
        broken["races"][0]["seats"] = 0
        bad = await http.put(url, content=dumps(broken), headers=JSON_HEADERS)
        back = await http.get(url)
    assert bad.status_code == 422
    problems = bad.json()["error"]["problems"]
    assert [p["path"] for p in problems] == [
        "$.races[0].precincts[7].registered",
        "$.races[0].seats",
    ]
    assert json.loads(back.content)["name"] == "Renamed national election"
    assert (await catalog_copy(ingest))[national.election_id].name == renamed.name
    old = first.json()["revision"]
    records = await read_to_end(ingest.settings.kafka_bootstrap, ingest.settings.definitions_topic)
    old_parts = {
        r.key for r in records if r.key.startswith(f"{national.election_id}@{old}/".encode())
    }
    tombstoned = {r.key for r in records if r.value is None}
    assert old_parts and old_parts <= tombstoned
