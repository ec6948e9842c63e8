"""Where supervision keeps its files, and the programs it runs.

Everything lives under the state dir, beside the local stack's files:
`run/supervisord.{conf,pid}`, `run/supervisor.sock` (the XML-RPC socket) and
`run/supervisor.secret` (its password, mode 0600),
`run/services.json` (what `up` started: ports and health URLs),
`run/restarts.json` and `logs/supervision.log` (written by the listener),
`logs/supervisord.log` and `logs/services/<name>.log`. `services.json` records the ports of the `up`
that wrote it, so `stack status` run with another environment still looks
in the right places.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from votewire.config import Settings
from votewire.launcher import SERVICE_ARGS, ServiceProcess

SERVICES = ("ingest", "aggregate", "rollups", "live")
"""The aggregate runs as two programs: `aggregate` is its races process (stage 1,
VOTEWIRE_AGGREGATE_ROLE=races) and `rollups` its rollups process (stages 2 and
3, on VOTEWIRE_ROLLUPS_PORT): two processes use the two cores a GIL-bound
single worker could not (docs/aggregate.md, Roles)."""
STOP_WAIT_S = {"ingest": 20, "aggregate": 45, "rollups": 45, "live": 20}
"""SIGTERM to SIGKILL. The aggregate commits its offsets and flushes its Redis
writes on SIGTERM; the HTTP services let open requests finish."""
COMMANDS = {"ingest": "ingest", "aggregate": "aggregate", "rollups": "aggregate", "live": "live"}
"""Which service's command each program runs (launcher.SERVICE_ARGS)."""
SOCKET_PATH_MAX = 100
"""A Unix socket path is limited to 107 bytes on Linux."""


@dataclass(frozen=True)
class Program:
    """One supervised service: its command, where it listens, what says it is up."""

    name: str
    argv: tuple[str, ...]
    port: int
    health_url: str
    stop_wait_s: int
    env: tuple[tuple[str, str], ...] = ()
    """Settings of this program only, on top of the services' environment."""


def programs(settings: Settings, env: Mapping[str, str]) -> list[Program]:
    """The three services, each run as `python -m votewire.cli ...` by this interpreter.

    `env` is the services' whole environment (`settings` were read from it): the
    health URL is the launcher's (`ServiceProcess.health_url`), the one place that
    says which endpoint means "up".
    """
    ports = {
        "ingest": settings.ingest_port,
        "aggregate": settings.aggregate_port,
        "rollups": settings.rollups_port,
        "live": settings.live_port,
    }
    instance = settings.aggregate_instance_id or f"{settings.aggregate_app_id}-up"
    own = {
        "aggregate": {"VOTEWIRE_AGGREGATE_ROLE": "races"},
        "rollups": {
            "VOTEWIRE_AGGREGATE_ROLE": "rollups",
            "VOTEWIRE_AGGREGATE_PORT": str(settings.rollups_port),
            "VOTEWIRE_AGGREGATE_INSTANCE_ID": f"{instance}-rollups",
        },
    }
    found = []
    for name in SERVICES:
        command = COMMANDS[name]
        extra = own.get(name, {})
        process = ServiceProcess(command, {**env, **extra}, Path(os.devnull))
        found.append(
            Program(
                name=name,
                argv=(sys.executable, "-m", "votewire.cli", *SERVICE_ARGS[command]),
                port=ports[name],
                health_url=process.health_url,
                stop_wait_s=STOP_WAIT_S[name],
                env=tuple(sorted(extra.items())),
            )
        )
    return found


@dataclass(frozen=True)
class Layout:
    state_dir: Path

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def pid_file(self) -> Path:
        """Named like the local stack's pid files, so `local_stack.processes.Managed` reads it."""
        return self.run_dir / "supervisord.pid"

    @property
    def socket(self) -> Path:
        path = self.run_dir / "supervisor.sock"
        if len(str(path)) <= SOCKET_PATH_MAX:
            return path
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"votewire-{digest}.sock"

    @property
    def secret_file(self) -> Path:
        """The control socket's password (mode 0600)."""
        return self.run_dir / "supervisor.secret"

    def new_secret(self) -> str:
        secret = secrets.token_urlsafe(24)
        write_private(self.secret_file, secret)
        return secret

    def secret(self) -> str:
        try:
            return self.secret_file.read_text().strip()
        except OSError:
            return ""

    @property
    def services_file(self) -> Path:
        return self.run_dir / "services.json"

    @property
    def restarts_file(self) -> Path:
        return self.run_dir / "restarts.json"

    @property
    def said_file(self) -> Path:
        """The listener's loud lines (restarts, give-ups), appended."""
        return self.state_dir / "logs" / "supervision.log"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs" / "services"

    @property
    def supervisord_log(self) -> Path:
        return self.state_dir / "logs" / "supervisord.log"

    def make_dirs(self) -> None:
        for folder in (self.run_dir, self.log_dir, self.supervisord_log.parent):
            folder.mkdir(parents=True, exist_ok=True)

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def write_services(self, started: list[Program]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.services_file, [asdict(p) for p in started])

    def read_services(self) -> list[Program]:
        """What the last `up` started; empty if it never ran or the file is unreadable."""
        try:
            raw = json.loads(self.services_file.read_text())
            return [
                Program(
                    **{
                        **entry,
                        "argv": tuple(entry["argv"]),
                        "env": tuple(tuple(pair) for pair in entry.get("env", ())),
                    }
                )
                for entry in raw
            ]
        except (OSError, ValueError, TypeError, KeyError):
            return []


def write_json(path: Path, data: object) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def write_private(path: Path, text: str) -> None:
    """Write `text` to a fresh file only its owner may read (mode 0600)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
