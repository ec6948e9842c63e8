"""Processes the local stack starts, and waiting for them with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

START_DEADLINE_S = 90.0


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_taken(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class StackError(RuntimeError):
    """The stack could not be brought to the requested state; the message says why."""


def wait_until(check: Callable[[], bool], deadline_s: float, what: str, log_file: Path) -> float:
    """Poll `check` until it is true; return seconds taken or raise with the log's tail."""
    start = time.monotonic()
    delay = 0.05
    while time.monotonic() - start < deadline_s:
        if check():
            return time.monotonic() - start
        time.sleep(delay)  # deadline-poll
        delay = min(delay * 1.5, 0.5)
    tail = ""
    if log_file.exists():
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
    raise StackError(f"{what} did not answer within {deadline_s:.0f}s; log {log_file}:\n{tail}")


@dataclass(frozen=True)
class Managed:
    """A process this stack started: its pid file and a marker in its command line."""

    name: str
    run_dir: Path
    marker: str

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    def pid(self) -> int | None:
        """The pid if the process we started is alive (and is still ours)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
        if self.marker not in cmdline:
            return None  # the pid was reused by somebody else's process
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return None
        except OSError:
            return None
        return pid

    def start(self, argv: list[str], log_file: Path, env: dict[str, str] | None = None) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, deadline_s: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after the deadline. True if something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        start = time.monotonic()
        while self.pid() is not None and time.monotonic() - start < deadline_s:
            time.sleep(0.1)  # deadline-poll
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.05)  # deadline-poll: SIGKILL cannot be ignored
        self.pid_file.unlink(missing_ok=True)
        return True
