"""Fixtures the live-service integration tests share (a module may override them, as
test_ingest_api.py overrides `settings`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from votewire.config import Settings

from tests.support.live import redis_for
from tests.support.stack import isolated_env, settings_for


@pytest.fixture
def settings() -> Settings:
    """Settings of an isolated namespace (topics, Redis prefix) on the running stack."""
    return settings_for(isolated_env("live"))


@pytest.fixture
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A Redis client; the namespace's keys are dropped after the test."""
    async with redis_for(settings) as client:
        yield client
