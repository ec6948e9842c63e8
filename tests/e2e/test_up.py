"""`votewire up` as a user runs it: supervised services, kill -9 restarted, SIGTERM leaves none."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from votewire.supervision.control import ServiceStatus, statuses
from votewire.supervision.layout import Layout

from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

DEADLINE_S = 120.0
PROGRAMS = ("aggregate", "rollups", "ingest", "live")
"""What `up` supervises: the aggregate as its races (`aggregate`) and rollups processes."""


def up_env(tmp_path: Path) -> dict[str, str]:
    """An isolated namespace on the shared stack, named as external servers (no `stack up`)."""
    env = isolated_env("up")
    shared = settings_for(env)
    return {
        **env,
        "VOTEWIRE_STATE_DIR": str(tmp_path / "state"),
        "VOTEWIRE_KAFKA_BOOTSTRAP": shared.kafka_bootstrap,
        "VOTEWIRE_REDIS_URL": shared.redis_url,
    }


def votewire_up(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "votewire.cli", "up"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_for(layout: Layout, check: object, what: str, log: Path) -> list[ServiceStatus]:
    """Poll the supervisor's status until `check(rows)` holds; fail with `up`'s output."""
    deadline = time.monotonic() + DEADLINE_S
    rows: list[ServiceStatus] | None = None
    while time.monotonic() < deadline:
        rows = statuses(layout)
        if rows and check(rows):  # type: ignore[operator]
            return rows
        time.sleep(0.2)  # deadline-poll
    raise AssertionError(f"{what}: last status {rows}; votewire up said:\n{log.read_text()}")


def all_healthy(rows: list[ServiceStatus]) -> bool:
    return len(rows) == len(PROGRAMS) and all(
        r.state == "RUNNING" and r.health.startswith("200") for r in rows
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def running_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Layout, Path]]:
    env = up_env(tmp_path)
    log = tmp_path / "up.log"
    proc = votewire_up(env, log)
    layout = Layout(Path(env["VOTEWIRE_STATE_DIR"]))
    try:
        yield proc, layout, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(90)


def test_a_killed_service_is_restarted_and_sigterm_stops_every_child(
    running_up: tuple[subprocess.Popen[bytes], Layout, Path],
) -> None:
    """kill -9 of each service: a new pid, healthy, restarts 1, said loudly; SIGTERM: no orphan."""
    proc, layout, log = running_up
    rows = wait_for(layout, all_healthy, "services healthy under up", log)
    first = {r.name: r.pid for r in rows}
    for name in PROGRAMS:
        os.kill(first[name], signal.SIGKILL)

        def restarted(rows: list[ServiceStatus], name: str = name) -> bool:
            row = next(r for r in rows if r.name == name)
            return row.pid not in (0, first[name]) and row.restarts == 1 and all_healthy(rows)

        wait_for(layout, restarted, f"{name} restarted after kill -9", log)
    said = log.read_text()
    for name in PROGRAMS:
        assert f"!!! {name} (pid {first[name]}) EXITED" in said
    final = {r.name: r.pid for r in statuses(layout) or []}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(90) == 0
    left = [name for name, pid in final.items() if alive(pid)]
    assert not left, f"still running after SIGTERM to up: {left}"
    assert statuses(layout) is None


def test_up_refuses_a_taken_port_by_its_variable(tmp_path: Path) -> None:
    """A port already in use: `up` exits 1 at once naming the variable; nothing is started."""
    env = up_env(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(env["VOTEWIRE_LIVE_PORT"])))
        holder.listen()
        log = tmp_path / "up.log"
        proc = votewire_up(env, log)
        assert proc.wait(60) == 1
    said = log.read_text()
    assert "VOTEWIRE_LIVE_PORT" in said and "Traceback" not in said
    assert statuses(Layout(Path(env["VOTEWIRE_STATE_DIR"]))) is None
