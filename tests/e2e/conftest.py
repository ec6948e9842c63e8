"""End-to-end fixtures: the three services as real processes on the real stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from votewire.launcher import ServiceProcess, start_services

from tests.support.stack import isolated_env


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, ServiceProcess]]]:
    """ingest + aggregate + live, isolated from every other test; stopped afterwards."""
    env = isolated_env("e2e")
    procs = start_services(env, tmp_path / "logs")
    try:
        yield env, procs
    finally:
        for proc in procs.values():
            proc.stop()
