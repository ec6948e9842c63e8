"""What `stack status` says of a service's health, what `up` records, and the lifeline's promise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from votewire.config import Settings
from votewire.supervision.control import health, health_word, status_text
from votewire.supervision.layout import Layout, programs


@pytest.mark.parametrize(
    ("code", "body", "word"),
    [
        (200, b'{"status": "ok"}', "200 ok"),
        (503, b'{"status": "stalled"}', "503 stalled"),
        (200, b'{"ready": true, "checks": {"kafka": true}}', "200 ready"),
        (503, b'{"ready": false, "checks": {"kafka": false, "redis": true}}', "503 waiting: kafka"),
        (500, b"Internal Server Error", "500"),
        (200, b'["not", "an", "object"]', "200"),
        (503, b'{"ready": "yes", "checks": 7}', "503 waiting: "),
    ],
)
def test_health_says_the_code_and_the_bodys_verdict(code: int, body: bytes, word: str) -> None:
    """Each service's health body becomes one short word; odd bodies never raise."""
    assert health_word(code, body) == word


def test_nothing_listening_is_down() -> None:
    """A refused connection reads as `down`, at once."""
    assert health("http://127.0.0.1:9/healthz", timeout_s=0.5) == "down"


def test_up_records_its_programs_for_status(tmp_path: Path) -> None:
    """`services.json` gives back the ports and health URLs of the `up` that wrote it."""
    env = {"VOTEWIRE_STATE_DIR": str(tmp_path), "VOTEWIRE_INGEST_PORT": "18481"}
    settings = Settings.from_env(env)
    layout = Layout(settings.state_dir)
    layout.write_services(programs(settings, env))
    back = {p.name: p for p in layout.read_services()}
    assert back["ingest"].port == 18481
    assert back["ingest"].health_url.endswith(":18481/readyz")
    assert [p.name for p in layout.read_services()] == ["ingest", "aggregate", "rollups", "live"]
    assert back["rollups"].health_url.endswith(":6067/healthz")
    assert dict(back["rollups"].env)["VOTEWIRE_AGGREGATE_ROLE"] == "rollups"
    layout.services_file.write_text('[{"name": 3}]')
    assert layout.read_services() == []


def test_status_without_a_supervisor_says_how_to_start_one(tmp_path: Path) -> None:
    """No supervisord for this state dir: one sentence naming `votewire up`."""
    assert "votewire up" in status_text(Layout(tmp_path))


def lifeline(*argv: str) -> list[str]:
    return [sys.executable, "-m", "votewire.supervision.lifeline", *argv]


def test_lifeline_refuses_when_its_parent_is_already_gone() -> None:
    """--parent names a pid that is not the parent: the command is not run."""
    done = subprocess.run(lifeline("--parent", "1", "--", "echo", "ran"), capture_output=True)
    assert (done.returncode, done.stdout) == (1, b"")


def test_lifeline_runs_the_command_and_needs_one() -> None:
    """With the right parent the command runs in place; without a command, usage and 2."""
    argv = lifeline("--parent", str(os.getpid()), "--", "echo", "ran")
    ran = subprocess.run(argv, capture_output=True)
    assert (ran.returncode, ran.stdout) == (0, b"ran\n")
    assert subprocess.run(lifeline(), capture_output=True).returncode == 2


def test_the_child_of_a_killed_parent_gets_sigterm(tmp_path: Path) -> None:
    """kill -9 of the parent: the lifeline's command gets SIGTERM (no orphan is left)."""
    marker = tmp_path / "child.pid"
    child = (
        "import os, signal, sys, time\n"
        f"open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen({lifeline('--', sys.executable, '-c', child)!r})\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.monotonic() + 20
    while not (marker.exists() and marker.read_text()):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.02)  # deadline-poll
    pid = int(marker.read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    while Path(f"/proc/{pid}").exists() and "Z" not in state_of(pid):
        assert time.monotonic() < deadline, f"child {pid} outlived its killed parent"
        time.sleep(0.02)  # deadline-poll


def state_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_the_container_probe_exits_by_health(monkeypatch: pytest.MonkeyPatch) -> None:
    """`probe ingest` with nothing listening: 1 and `ingest down`; a bad name: 2."""
    from votewire.supervision import probe

    monkeypatch.setenv("VOTEWIRE_INGEST_PORT", "9")
    monkeypatch.setenv("VOTEWIRE_HOST", "127.0.0.1")
    assert probe.main(["ingest"]) == 1
    assert probe.main(["nonsense"]) == 2
    monkeypatch.setenv("VOTEWIRE_INGEST_PORT", "not-a-port")
    assert probe.main(["ingest"]) == 2
