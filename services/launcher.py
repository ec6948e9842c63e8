"""Starting the three votewire services as child processes, and waiting for them.

Used by the end-to-end tests, drills and benchmarks (`votewire up` and `demo`
supervise the services instead: votewire.supervision). Each service runs as
`python -m votewire.cli ...` with the caller's environment plus overrides,
logs to a file, and is considered up when its health endpoint answers 200.
`stop()` sends SIGTERM, then SIGKILL after a deadline; `kill()` is SIGKILL
at once (the crash drills).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from votewire.config import Settings

SERVICE_ARGS = {
    "ingest": ["serve", "ingest"],
    "live": ["serve", "live"],
    "aggregate": ["aggregate"],
}


class LaunchError(RuntimeError):
    """A service did not come up in time; the message carries its log's tail."""


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def health_url(self) -> str:
        settings = Settings.from_env({**os.environ, **self.env})
        port = {
            "ingest": settings.ingest_port,
            "live": settings.live_port,
            "aggregate": settings.aggregate_port,
        }[self.name]
        path = {"aggregate": "/healthz", "ingest": "/readyz", "live": "/readyz"}[self.name]
        return f"http://{settings.host}:{port}{path}"

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "votewire.cli", *SERVICE_ARGS[self.name]],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, deadline_s: float = 60.0) -> float:
        start = time.monotonic()
        delay = 0.05
        while time.monotonic() - start < deadline_s:
            if not self.alive():
                raise LaunchError(f"{self.name} exited early:\n{self.log_tail()}")
            if http_ok(self.health_url):
                return time.monotonic() - start
            time.sleep(delay)  # deadline-poll
            delay = min(delay * 1.5, 0.5)
        raise LaunchError(f"{self.name} not healthy after {deadline_s:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, deadline_s: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(deadline_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()


def start_services(
    env: dict[str, str], log_dir: Path, names: tuple[str, ...] = ("ingest", "aggregate", "live")
) -> dict[str, ServiceProcess]:
    """Start `names` and wait until each is healthy; on failure stop them all and raise."""
    procs = {name: ServiceProcess(name, env, log_dir / f"{name}.log") for name in names}
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_healthy()
    except BaseException:
        for proc in procs.values():
            proc.stop()
        raise
    return procs
