"""Asking a running supervisord about the services (`votewire stack status`).

supervisord answers XML-RPC on the Unix socket of `Layout.socket`; this
module reads pid and state there, adds the port and health URL `up`
recorded, the restarts the listener counted, and asks each health URL
itself. Everything has a short timeout: a status never hangs on a stuck
process. Stdlib only.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from votewire.supervision.conf import USER
from votewire.supervision.layout import Layout
from votewire.supervision.listener import load

TIMEOUT_S = 2.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.path))
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__()
        self.path, self.timeout = path, timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = self._connection[1]
        if connection is None:
            _, self._extra_headers, _ = self.get_host_info(host)  # basic auth from the URL
            connection = _UnixConnection(self.path, self.timeout)
            self._connection = host, connection  # where Transport.close() finds it
        return connection


def rpc(layout: Layout, timeout_s: float = TIMEOUT_S) -> Any:
    """supervisord's XML-RPC interface (`.supervisor.getAllProcessInfo()`, ...)."""
    transport = _UnixTransport(layout.socket, timeout_s)
    url = f"http://{USER}:{urllib.parse.quote(layout.secret(), safe='')}@localhost"
    return xmlrpc.client.ServerProxy(url, transport=transport)


def process_info(layout: Layout) -> list[dict[str, Any]] | None:
    """supervisord's view of every program; None when no supervisord answers."""
    if not layout.socket.exists():
        return None
    try:
        with rpc(layout) as proxy:
            return list(proxy.supervisor.getAllProcessInfo())
    except (OSError, xmlrpc.client.Error, http.client.HTTPException):
        return None


def health(url: str, timeout_s: float = 1.0) -> str:
    """`200 ok`, `503 stalled`, `down` ...: see `health_word`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return health_word(response.status, response.read(4096))
    except urllib.error.HTTPError as exc:
        return health_word(exc.code, exc.read(4096))
    except (OSError, ValueError, http.client.HTTPException):
        return "down"


def health_word(code: int, body: bytes) -> str:
    """The status code and the body's own verdict: its `status`, or which readiness
    checks fail; the bare code when the body says neither."""
    try:
        doc = json.loads(body)
    except ValueError:
        return str(code)
    if isinstance(doc, dict) and isinstance(doc.get("status"), str):
        return f"{code} {doc['status']}"
    if isinstance(doc, dict) and "ready" in doc:
        checks = doc.get("checks")
        failed = [k for k, ok in checks.items() if not ok] if isinstance(checks, dict) else []
        return f"{code} ready" if doc["ready"] is True else f"{code} waiting: {','.join(failed)}"
    return str(code)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str
    pid: int
    port: int
    health: str
    restarts: int
    uptime_s: int
    last_exit: str
    log: str


def statuses(layout: Layout) -> list[ServiceStatus] | None:
    """One row per supervised service; None when no supervisor runs for this state dir."""
    info = process_info(layout)
    if info is None:
        return None
    by_name = {entry["name"]: entry for entry in info}
    records = load(layout.restarts_file)
    rows = []
    for program in layout.read_services():
        name, record = program.name, records.get(program.name)
        entry = by_name.get(name)
        if entry is None:
            continue
        running = entry["statename"] == "RUNNING"
        rows.append(
            ServiceStatus(
                name=name,
                state=entry["statename"],
                pid=int(entry["pid"]),
                port=program.port,
                health=health(program.health_url) if entry["pid"] else "down",
                restarts=record.restarts if record else 0,
                uptime_s=int(entry["now"]) - int(entry["start"]) if running else 0,
                last_exit=(
                    f"{record.last_exit_at} (pid {record.last_exit_pid})"
                    if record and record.last_exit_at
                    else ""
                ),
                log=entry["stdout_logfile"],
            )
        )
    return rows


def status_text(layout: Layout) -> str:
    """What `stack status` prints about the services."""
    rows = statuses(layout)
    if rows is None:
        return "services: not running (`votewire up` starts them under a supervisor)"
    lines = [f"services (supervisord, socket {layout.socket}):"]
    for row in rows:
        exit_note = f"  last exit {row.last_exit}" if row.last_exit else ""
        lines.append(
            f"  {row.name:<9} {row.state:<8} pid {row.pid or '-':<7} port {row.port:<5} "
            f"health {row.health:<22} restarts {row.restarts}  up {row.uptime_s} s{exit_note}"
        )
        lines.append(f"  {'':<9} log {row.log}")
    return "\n".join(lines)
