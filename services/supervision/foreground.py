"""supervisord in the foreground of `votewire up` / `demo`: start, wait, watch, stop.

Contract:
- `start()` refuses, with a sentence, when a supervisor already runs for
  this state dir or a service's port is taken; otherwise it writes the
  configuration and starts supervisord (under `lifeline`, in its own
  session, so the terminal's Ctrl-C reaches only `votewire up`, which stops
  everything in order).
- `wait_healthy()` returns once every health URL answers 200; a service that
  dies during that first start fails it at once with the log's tail (a bad
  setting should not be retried for eight minutes).
- While supervisord runs, the listener's lines (restarts, give-ups) are
  printed on stderr; after `watch_health()`, every change of a service's
  health too. Nothing is killed for failing health (supervisord restarts what
  exits; a recovering aggregate answers 503 for a while).
- `stop()` sends supervisord SIGTERM and waits: supervisord stops each
  service (SIGTERM, SIGKILL after its `stop_wait_s`). Further SIGINT and
  SIGTERM are ignored meanwhile. If supervisord does not finish in time it is
  killed, and `lifeline` hands SIGTERM to each service. No orphans either way.
- `stop_on_signals()` makes SIGTERM behave as Ctrl-C (KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

from votewire.config import Settings
from votewire.supervision import conf, control
from votewire.supervision.layout import Layout, Program, programs, write_private

PORT_VARIABLES = {
    "ingest": "VOTEWIRE_INGEST_PORT",
    "aggregate": "VOTEWIRE_AGGREGATE_PORT",
    "rollups": "VOTEWIRE_ROLLUPS_PORT",
    "live": "VOTEWIRE_LIVE_PORT",
}
START_FAILED = {"BACKOFF", "FATAL", "EXITED"}
RELAY_EVERY_S = 0.5
HEALTH_EVERY_TICKS = 4
"""Health is asked every 2 s."""


class SupervisionError(RuntimeError):
    """The services could not be brought up; the message says why."""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [up] {message}", file=sys.stderr, flush=True)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def healthy(program: Program) -> bool:
    return control.health(program.health_url).startswith("200")


def relay(path: Path, offset: int) -> int:
    """Print the whole lines of `path` past `offset` on stderr; the offset after them."""
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            chunk = file.read()
    except OSError:
        return offset  # not written yet
    complete = chunk[: chunk.rfind(b"\n") + 1]
    for line in complete.decode(errors="replace").splitlines():
        print(line, file=sys.stderr, flush=True)
    return offset + len(complete)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Supervisor:
    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        """`env`: the whole environment of the services (settings were read from it)."""
        self.settings = settings
        self.env = dict(env)
        # One races and one rollups process run under `up`, each a static group member,
        # so a restart after a crash gets its partitions back at once (config:
        # VOTEWIRE_AGGREGATE_INSTANCE_ID; layout.programs gives rollups its own).
        self.env.setdefault("VOTEWIRE_AGGREGATE_INSTANCE_ID", f"{settings.aggregate_app_id}-up")
        self.layout = Layout(settings.state_dir)
        self.programs: list[Program] = programs(settings, env)
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._health_on = threading.Event()
        self._said_from = 0

    def start(self) -> None:
        if control.process_info(self.layout) is not None:
            raise SupervisionError(
                f"a supervisor already runs for {self.settings.state_dir} (votewire stack "
                "status shows it; stop it with Ctrl-C where it runs, or votewire stack down)"
            )
        for program in self.programs:
            if not port_free(self.settings.host, program.port):
                raise SupervisionError(
                    f"port {program.port} of {program.name} ({PORT_VARIABLES[program.name]}) "
                    f"is in use on {self.settings.host}: stop what holds it or choose another"
                )
        layout = self.layout
        layout.make_dirs()
        secret = layout.new_secret()
        try:
            text = conf.render(layout, self.programs, secret, as_root=os.geteuid() == 0)
        except conf.ConfError as exc:
            raise SupervisionError(f"{exc}; set VOTEWIRE_STATE_DIR to another folder") from None
        write_private(layout.conf, text)
        layout.write_services(self.programs)
        layout.restarts_file.unlink(missing_ok=True)
        self._said_from = layout.said_file.stat().st_size if layout.said_file.exists() else 0
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "votewire.supervision.lifeline"),
                *("--parent", str(os.getpid()), "--"),
                *(sys.executable, "-m", "supervisor.supervisord", "-c", str(layout.conf)),
            ],
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log(f"supervisord pid {self.process.pid}; logs in {layout.log_dir}")
        threading.Thread(target=self._watch, name="supervision-watch", daemon=True).start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, deadline_s: float = 180.0) -> float:
        """Seconds until every service answers 200 (module doc)."""
        start = time.monotonic()
        delay = 0.1
        while time.monotonic() - start < deadline_s:
            if not self.alive():
                raise SupervisionError(f"supervisord exited during start-up; see {self._log()}")
            info = control.process_info(self.layout) or []
            failed = [e["name"] for e in info if e["statename"] in START_FAILED]
            if failed:
                raise SupervisionError(self._tails(failed, "died during start-up"))
            states = {e["name"]: e["statename"] for e in info}
            if all(
                states.get(p.name) in ("STARTING", "RUNNING") and healthy(p) for p in self.programs
            ):
                return time.monotonic() - start
            time.sleep(delay)  # deadline-poll
            delay = min(delay * 1.5, 1.0)
        waiting = [p.name for p in self.programs if not healthy(p)]
        raise SupervisionError(self._tails(waiting, f"not healthy after {deadline_s:.0f} s"))

    def watch_health(self) -> None:
        """From now on, report each change of a service's health on stderr as well."""
        self._health_on.set()

    def _watch(self) -> None:
        """A daemon thread: relays the listener's lines; checks health when asked to."""
        seen = {p.name: "" for p in self.programs}
        said = self.layout.said_file
        offset = self._said_from
        ticks = 0
        while not self._stopping.wait(RELAY_EVERY_S):
            offset = relay(said, offset)
            ticks += 1
            if not self._health_on.is_set() or ticks % HEALTH_EVERY_TICKS:
                continue
            for program in self.programs:
                now = control.health(program.health_url)
                was = seen[program.name]
                if was and now != was and not self._stopping.is_set():
                    loud = "" if now.startswith("200") else "!!! "
                    log(f"{loud}{program.name} health: {was} -> {now}")
                seen[program.name] = now

    def wait(self) -> int:
        """Block until supervisord exits (only `stack down` or a crash of its own ends it)."""
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        self._stopping.set()
        if not self.alive():
            return
        assert self.process is not None
        deadline = max(p.stop_wait_s for p in self.programs) + 15
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            log(f"stopping the services (at most {deadline} s)")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(deadline)
            except subprocess.TimeoutExpired:
                log("!!! supervisord did not stop in time: killing it (services get SIGTERM)")
                self.process.kill()
                self.process.wait()
            log("stopped")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _log(self) -> str:
        return str(self.layout.supervisord_log)

    def _tails(self, names: list[str], what: str, lines: int = 25) -> str:
        parts = [f"{', '.join(names)} {what}:"]
        for name in names:
            path = self.layout.log_file(name)
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"--- {path} (last {lines} lines)\n{tail}")
        return "\n".join(parts)
