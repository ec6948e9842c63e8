"""Test access to the real stack: isolated namespaces on the shared Kafka and Redis.

Every test session gets its own topic prefix, Redis prefix, consumer group and
service ports, so tests never see each other's data or a previous run's.
The stack itself must be up (`votewire stack up`; the README's test command
does it); if it is not, tests fail with that instruction, they do not skip.
"""

from __future__ import annotations

import socket
import uuid

from votewire.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(name: str) -> dict[str, str]:
    """Environment overrides for one isolated votewire deployment."""
    tag = f"t{uuid.uuid4().hex[:8]}-{name}"
    return {
        "VOTEWIRE_TOPIC_PREFIX": tag,
        "VOTEWIRE_REDIS_PREFIX": tag,
        "VOTEWIRE_AGGREGATE_APP_ID": f"{tag}-aggregate",
        "VOTEWIRE_INGEST_PORT": str(free_port()),
        "VOTEWIRE_LIVE_PORT": str(free_port()),
        "VOTEWIRE_AGGREGATE_PORT": str(free_port()),
        "VOTEWIRE_ROLLUPS_PORT": str(free_port()),
        "VOTEWIRE_REPORT_PARTITIONS": "3",
        "VOTEWIRE_LOG_LEVEL": "info",
    }


def settings_for(env: dict[str, str]) -> Settings:
    import os

    return Settings.from_env({**os.environ, **env})
