"""Debian's redis-server as a stack process."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from votewire.config import Settings

from local_stack.processes import (
    START_DEADLINE_S,
    Managed,
    StackError,
    log,
    port_taken,
    wait_until,
)


class RedisServer:
    """Debian's redis-server on loopback, append-only persistence on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.state_dir / "redis"
        self.log_file = settings.state_dir / "logs" / "redis.log"
        # redis-server rewrites its process title to "<binary> <bind>:<port>".
        self.proc = Managed("redis", settings.state_dir / "run", f"127.0.0.1:{settings.redis_port}")

    def ensure_installed(self) -> str:
        found = shutil.which("redis-server")
        if found:
            return found
        log("redis-server is missing: installing Debian's redis-server package")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(
            [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"],
            check=True,
            env=env,
        )
        found = shutil.which("redis-server")
        if not found:
            raise StackError("redis-server still missing after apt-get install")
        return found

    def answers(self) -> bool:
        import redis

        try:
            client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=1.0)
            with client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def up(self) -> str:
        if not self.settings.redis_provisioned:
            if not self.answers():
                raise StackError(f"VOTEWIRE_REDIS_URL={self.settings.redis_url} does not answer")
            return f"external {self.settings.redis_url}: answering"
        if self.proc.pid() is not None and self.answers():
            return f"already running (pid {self.proc.pid()})"
        if self.proc.pid() is None and port_taken(self.settings.redis_port):
            raise StackError(
                f"port {self.settings.redis_port} is taken by a process this stack did not "
                "start: set VOTEWIRE_REDIS_URL to use that server, or VOTEWIRE_REDIS_PORT to move"
            )
        binary = self.ensure_installed()
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.settings.redis_port}",
                    f"dir {self.dir}",
                    "daemonize no",
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "maxmemory-policy noeviction",
                    "loglevel notice",
                    "",
                ]
            )
        )
        started = time.monotonic()
        self.proc.start([binary, str(conf)], self.log_file)
        wait_until(self.answers, START_DEADLINE_S, "redis", self.log_file)
        return f"started (pid {self.proc.pid()}) in {time.monotonic() - started:.1f}s"

    def down(self) -> str:
        return "stopped" if self.proc.stop() else "not running"

    def status(self) -> str:
        where = self.settings.redis_url
        if not self.settings.redis_provisioned:
            return f"external {where}: {'answering' if self.answers() else 'NOT answering'}"
        pid = self.proc.pid()
        state = (
            "answering"
            if pid and self.answers()
            else ("started, not answering" if pid else "stopped")
        )
        return f"{where} pid={pid or '-'} {state}; data {self.dir}; log {self.log_file}"
