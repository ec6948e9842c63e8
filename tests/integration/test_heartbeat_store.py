"""The heartbeat store contract, run against the in-memory store and the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from votewire.infra.heartbeat import (
    FORGET_AFTER_S,
    Beat,
    HeartbeatStore,
    MemoryHeartbeats,
    RedisHeartbeats,
    heartbeat_key,
)

from tests.support.stack import settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HeartbeatStore]:
    if request.param == "memory":
        yield MemoryHeartbeats()
        return
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-beat"
    try:
        yield RedisHeartbeats(client, prefix)
    finally:
        await client.delete(heartbeat_key(prefix))
        await client.aclose()


async def test_nothing_is_read_before_a_beat(store: HeartbeatStore) -> None:
    """An empty store reads as no fields; removing unknown workers is quiet."""
    assert await store.read() == {}
    await store.remove("nobody:1")
    await store.remove()


async def test_each_worker_has_one_field_its_latest_beat(store: HeartbeatStore) -> None:
    """put replaces the worker's own field and no other; read returns the encoded beats."""
    first, second = Beat("a:1", 10.0, "ok", 0, 3, 6), Beat("a:1", 11.0, "ok", 2, 3, 6)
    other = Beat("b:2", 10.5, "recovering", 0, 3, 6)
    await store.put(first)
    await store.put(other)
    await store.put(second)
    found = await store.read()
    assert found == {"a:1": second.encode(), "b:2": other.encode()}
    assert Beat.decode(found["a:1"]) == second


async def test_remove_deletes_only_the_named_workers(store: HeartbeatStore) -> None:
    """remove takes several workers at once and leaves the rest."""
    for worker in ("a:1", "b:2", "c:3"):
        await store.put(Beat(worker, 1.0, "ok"))
    await store.remove("a:1", "c:3")
    assert set(await store.read()) == {"b:2"}


async def test_the_redis_hash_expires_when_nobody_beats() -> None:
    """Each beat renews a TTL of FORGET_AFTER_S on the hash: a stopped pipeline leaves nothing."""
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-beat"
    try:
        await RedisHeartbeats(client, prefix).put(Beat("a:1", 1.0, "ok"))
        ttl_ms = await client.pttl(heartbeat_key(prefix))
        assert 0 < ttl_ms <= FORGET_AFTER_S * 1000
    finally:
        await client.delete(heartbeat_key(prefix))
        await client.aclose()
