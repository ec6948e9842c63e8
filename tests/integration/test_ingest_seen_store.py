"""The idempotency store contract, run against the in-memory store and the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from votewire.ingest.idempotency import (
    MemorySeenStore,
    RedisSeenStore,
    SeenStore,
    SeenStoreError,
)

from tests.support.stack import free_port, settings_for

pytestmark = pytest.mark.integration

A, B = "a" * 64, "b" * 64


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SeenStore]:
    if request.param == "memory":
        yield MemorySeenStore()
        return
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-seen"
    try:
        yield RedisSeenStore(client, prefix)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_unknown_ids_are_not_found(store: SeenStore) -> None:
    """Nothing recorded: lookup finds nothing (and an empty lookup is fine)."""
    assert await store.lookup("e", ["x", "y"]) == {}
    assert await store.lookup("e", []) == {}


async def test_recorded_ids_are_found_with_their_digest(store: SeenStore) -> None:
    """record then lookup returns exactly the recorded ids and digests."""
    assert await store.record("e", {"x": A, "y": B}) == []
    assert await store.lookup("e", ["x", "y", "z"]) == {"x": A, "y": B}


async def test_the_first_record_wins_and_a_different_one_is_reported(store: SeenStore) -> None:
    """Set-if-absent: the same digest again is quiet; another digest is a lost race and
    does not overwrite."""
    await store.record("e", {"x": A})
    assert await store.record("e", {"x": A}) == []
    assert await store.record("e", {"x": B, "y": B}) == ["x"]
    assert await store.lookup("e", ["x", "y"]) == {"x": A, "y": B}


async def test_ids_are_per_election(store: SeenStore) -> None:
    """The same report_id in another election is another report."""
    await store.record("e1", {"x": A})
    assert await store.lookup("e2", ["x"]) == {}


async def test_an_unreachable_redis_raises_seen_store_error() -> None:
    """Redis down is an explicit error the caller turns into 503, never a guess."""
    client = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1, socket_timeout=1
    )
    store = RedisSeenStore(client, "t-down")
    try:
        with pytest.raises(SeenStoreError):
            await store.lookup("e", ["x"])
        with pytest.raises(SeenStoreError):
            await store.record("e", {"x": A})
    finally:
        await client.aclose()
