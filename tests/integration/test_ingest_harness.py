"""The harness of the ingest integration tests (and the drill), with its own smoke test.

- `IngestServer`: the real app under uvicorn on a free loopback port, in a
  thread with its own event loop, lifespan included. Tests talk to it over
  real sockets (sync or async httpx), so hypothesis can drive it too.
- `write_credentials`: a credentials file with one credential per role the
  tests need, and their tokens.
- `read_topic`: every record of a topic from the beginning, polled with a
  deadline until a predicate holds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from votewire.infra.kafka_topics import topic_partitions
from votewire.infra.topic_log import KafkaLog
from votewire.ingest.app import create_app
from votewire.ingest.auth import token_digest

from tests.support.stack import free_port, isolated_env, settings_for

pytestmark = pytest.mark.integration

START_DEADLINE_S = 60.0


class IngestServer:
    """`create_app(settings)` served by uvicorn in a background thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.settings = settings = settings_for(env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,  # leave logging to pytest (and keep library loggers enabled)
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="ingest-server", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    def start(self) -> IngestServer:
        self.thread.start()
        deadline = time.monotonic() + START_DEADLINE_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"ingest did not start: {self.error!r}")
            time.sleep(0.02)  # deadline-poll
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive(), "ingest did not stop within 30s"


@contextmanager
def running_ingest(env: dict[str, str]) -> Iterator[IngestServer]:
    server = IngestServer(env).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Tokens:
    admin: str
    """definitions, and an editor of every election (calls races)"""
    north: str
    """region "north" of every election"""
    p3: str
    """precinct r2/p3 only"""
    r1: str
    """race r1 only"""
    rig: str
    """every election, unlimited rate"""
    slow: str
    """every election, 1 report/s, burst 5"""

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, who)}"}


def write_credentials(directory: Path, max_items: int = 1000) -> tuple[Path, Tokens]:
    tokens = Tokens(*(secrets.token_urlsafe(24) for _ in range(6)))
    every = [{"election_id": "*"}]
    entries: list[dict[str, Any]] = [
        {
            "id": "admin",
            "token_sha256": token_digest(tokens.admin),
            "admin": True,
            "editor": ["*"],
        },
        {
            "id": "desk-north",
            "token_sha256": token_digest(tokens.north),
            "scopes": [{"election_id": "*", "regions": ["north"]}],
        },
        {
            "id": "commission-p3",
            "token_sha256": token_digest(tokens.p3),
            "scopes": [{"election_id": "*", "precincts": ["r2/p3"]}],
        },
        {
            "id": "race-r1",
            "token_sha256": token_digest(tokens.r1),
            "scopes": [{"election_id": "*", "races": ["r1"]}],
        },
        {
            "id": "rig",
            "token_sha256": token_digest(tokens.rig),
            "scopes": every,
            "rate": {"per_second": 0},
        },
        {
            "id": "slow",
            "token_sha256": token_digest(tokens.slow),
            "scopes": every,
            "rate": {"per_second": 1, "burst": max(5, max_items)},
        },
    ]
    path = directory / "credentials.json"
    path.write_text(json.dumps({"version": 1, "credentials": entries}))
    return path, tokens


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic` (a consumer without a group knows none until asked)."""
    return [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]


async def read_topic(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Any]], bool],
    deadline_s: float = 30.0,
) -> list[Any]:
    """All records of `topic` from the beginning, read until `done(records)` or the
    deadline (then it fails, showing what it had)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        start = time.monotonic()
        while not done(records):
            if time.monotonic() - start > deadline_s:
                raise AssertionError(f"{topic}: condition not met in {deadline_s}s; {records!r}")
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def read_to_end(bootstrap: str, topic: str, deadline_s: float = 30.0) -> list[Any]:
    """Every record of `topic` up to its end offsets as of now: with acks=all, everything
    acknowledged before the call (so "exactly once" can be checked, not just "at least")."""
    async with KafkaLog(bootstrap, stall_s=deadline_s) as log:
        return await log.read_all(topic)


def decoded(records: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, value) of JSON records."""
    return [(r.key.decode() if r.key else "", json.loads(r.value)) for r in records]


def test_harness_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
    """The in-process server starts (lifespan included), answers /healthz, and stops."""
    path, _ = write_credentials(tmp_path)
    env = {**isolated_env("harness"), "VOTEWIRE_CREDENTIALS_FILE": str(path)}
    with running_ingest(env) as server:
        answer = httpx.get(f"{server.url}/healthz", timeout=5)
        assert answer.json() == {"status": "ok", "auth": "credentials"}
        assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
