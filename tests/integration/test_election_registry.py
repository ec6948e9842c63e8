"""The election registry contract (votewire.infra.election_registry), run against memory
and the real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from votewire.infra.election_registry import ElectionRegistry, MemoryElectionRegistry
from votewire.infra.redis_election_registry import CHUNK, RedisElectionRegistry
from votewire.infra.views import ViewsUnavailable

from tests.support.stack import free_port, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis"])
async def registry(request: pytest.FixtureRequest) -> AsyncIterator[ElectionRegistry]:
    if request.param == "memory":
        yield MemoryElectionRegistry()
        return
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-registry"
    try:
        yield RedisElectionRegistry(client, prefix)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_races_are_replaced_whole_and_an_unindexed_election_is_none(
    registry: ElectionRegistry,
) -> None:
    """put_races replaces the set (more than one SADD chunk too); has_race is None for an
    election without an index; drop_races removes it; `indexed` names those there."""
    assert await registry.has_race("e", "r1") is None
    many = [f"r{i}" for i in range(CHUNK + 5)]
    await registry.put_races("e", many)
    assert await registry.has_race("e", f"r{CHUNK + 4}") is True
    await registry.put_races("e", ["r1", "x"])
    assert await registry.has_race("e", "r2") is False and await registry.has_race("e", "x")
    assert await registry.indexed(["e", "f"]) == {"e"} and await registry.indexed([]) == set()
    await registry.drop_races("e")
    assert await registry.has_race("e", "r1") is None and await registry.indexed(["e"]) == set()


async def test_regions_are_kept_beside_the_races_and_dropped_with_them(
    registry: ElectionRegistry,
) -> None:
    """has_region: None without a race index; True for any region of an index without
    region ids (an older writer's: it cannot tell); else membership; drop_races drops both."""
    assert await registry.has_region("e", "north") is None
    await registry.put_races("e", ["r1"])
    assert await registry.has_region("e", "anything") is True
    await registry.put_regions("e", ["north", "west"])
    assert await registry.has_region("e", "west") is True
    assert await registry.has_region("e", "south") is False
    await registry.put_regions("e", ["south"])
    assert await registry.has_region("e", "west") is False
    await registry.drop_races("e")
    assert await registry.has_region("e", "south") is None
    await registry.put_races("e", ["r1"])
    assert await registry.has_region("e", "west") is True  # the region ids went with the races


async def test_retirements_are_marked_and_withdrawn(registry: ElectionRegistry) -> None:
    """retire/unretire, idempotent; `retired` lists exactly the retired elections."""
    record = json.dumps({"kind": "retirement", "election_id": "e"}).encode()
    assert await registry.retired() == set()
    await registry.retire("e", record)
    await registry.retire("e", record)
    await registry.retire("f", record)
    assert await registry.retired() == {"e", "f"}
    await registry.unretire("e")
    await registry.unretire("nope")
    assert await registry.retired() == {"f"}


async def test_reads_of_an_unreachable_redis_are_unavailable() -> None:
    """A Redis nobody answers: the reads live makes raise ViewsUnavailable, not redis-py's."""
    client = aioredis.Redis(port=free_port(), socket_connect_timeout=0.5)
    registry = RedisElectionRegistry(client, "nobody")
    try:
        with pytest.raises(ViewsUnavailable):
            await registry.has_race("e", "r1")
        with pytest.raises(ViewsUnavailable):
            await registry.retired()
    finally:
        await client.aclose()
