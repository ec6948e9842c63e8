"""The local stack: a real Apache Kafka (KRaft) and a real Redis, run as processes.

    python deploy/stack.py up [--brokers 1|3]    # or: votewire stack up
    python deploy/stack.py status
    python deploy/stack.py down

Contract:
- `up` is idempotent: a server that already answers is left alone; one whose
  pid file is stale is started again. Each server is waited for with a
  deadline (no fixed sleeps) and `up` fails with the log's tail if it does not
  answer in time.
- Everything lives under VOTEWIRE_STATE_DIR: data, `logs/*.log`, `run/*.pid`.
  `down` stops only processes whose pid file this stack wrote and whose
  command line still matches what it started.
- If VOTEWIRE_KAFKA_BOOTSTRAP / VOTEWIRE_REDIS_URL point at existing servers,
  that server is not provisioned, only checked.
- Kafka jars come from Maven Central through deploy/kafka/pom.xml into
  VOTEWIRE_CACHE_DIR, once; later runs reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.config import Settings  # noqa: E402

DEPLOY_DIR = Path(__file__).resolve().parent
POM = DEPLOY_DIR / "kafka" / "pom.xml"
LOG4J2 = DEPLOY_DIR / "kafka" / "log4j2.yaml"
START_DEADLINE_S = 90.0


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


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


# ---------------------------------------------------------------- processes


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


# ---------------------------------------------------------------- redis


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
        state = "answering" if pid and self.answers() else ("started, not answering" if pid else "stopped")
        return f"{where} pid={pid or '-'} {state}; data {self.dir}; log {self.log_file}"


# ---------------------------------------------------------------- kafka


def kafka_version() -> str:
    text = POM.read_text()
    return text.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0].strip()


def resolve_kafka_jars(cache_dir: Path) -> Path:
    """Jars of the broker and its logging backend, from Maven Central, cached."""
    version = kafka_version()
    lib = cache_dir / f"kafka-{version}" / "lib"
    done = lib / ".complete"
    if done.exists():
        return lib
    if not shutil.which("mvn"):
        raise StackError("Maven (mvn) is needed to fetch Kafka from Maven Central")
    log(f"fetching Kafka {version} from Maven Central into {lib}")
    lib.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            f"-Dmaven.repo.local={cache_dir / 'm2'}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    done.write_text(version)
    return lib


def java_binary() -> str:
    java = shutil.which("java")
    if not java:
        raise StackError("Java 17+ is needed for the Kafka broker (apt-get install openjdk-17-jre)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        major = 0
    if major < 17:
        raise StackError(f"Kafka {kafka_version()} needs Java 17+, found: {out.splitlines()[0]}")
    return java


class KafkaCluster:
    """1 or 3 combined broker+controller KRaft nodes on loopback.

    Node i (1-based) listens on VOTEWIRE_KAFKA_PORT + 100*(i-1) for clients and
    VOTEWIRE_KAFKA_CONTROLLER_PORT + 100*(i-1) for the controller quorum.
    """

    def __init__(self, settings: Settings, brokers: int) -> None:
        self.settings = settings
        self.brokers = brokers
        self.dir = settings.state_dir / f"kafka-{brokers}"

    def nodes(self) -> list[int]:
        return list(range(1, self.brokers + 1))

    def port(self, node: int) -> int:
        return self.settings.kafka_port + 100 * (node - 1)

    def controller_port(self, node: int) -> int:
        return self.settings.kafka_controller_port + 100 * (node - 1)

    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port(n)}" for n in self.nodes())

    def proc(self, node: int) -> Managed:
        conf = self.dir / f"node-{node}" / "server.properties"
        return Managed(f"kafka-{node}", self.settings.state_dir / "run", str(conf))

    def log_file(self, node: int) -> Path:
        return self.settings.state_dir / "logs" / f"kafka-{node}.log"

    def write_config(self, node: int) -> Path:
        node_dir = self.dir / f"node-{node}"
        node_dir.mkdir(parents=True, exist_ok=True)
        rf = min(3, self.brokers)
        voters = ",".join(f"{n}@127.0.0.1:{self.controller_port(n)}" for n in self.nodes())
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port(node)},"
            f"CONTROLLER://127.0.0.1:{self.controller_port(node)}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port(node)}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(node_dir / "data"),
            "num.partitions": "6",
            "default.replication.factor": str(rf),
            "min.insync.replicas": "2" if rf >= 3 else "1",
            "offsets.topic.replication.factor": str(rf),
            "offsets.topic.num.partitions": "12",
            "transaction.state.log.replication.factor": str(rf),
            "transaction.state.log.min.isr": "2" if rf >= 3 else "1",
            "share.coordinator.state.topic.replication.factor": str(rf),
            "share.coordinator.state.topic.min.isr": "2" if rf >= 3 else "1",
            # Tests and the demo start consumers constantly: do not wait 3s to rebalance.
            "group.initial.rebalance.delay.ms": "0",
            # Keep a whole election night (and then some) for replay.
            "log.retention.hours": "-1",
            "log.retention.bytes": "-1",
            "auto.create.topics.enable": "false",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.cleaner.threads": "1",
            "num.recovery.threads.per.data.dir": "1",
        }
        conf = node_dir / "server.properties"
        conf.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return conf

    def java_argv(self, lib: Path, main: str, *args: str) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            java_binary(),
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def format_storage(self, lib: Path) -> None:
        """Format every node's storage once, with one cluster id (KRaft needs it)."""
        id_file = self.dir / "cluster.id"
        if id_file.exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        for node in self.nodes():
            conf = self.write_config(node)
            subprocess.run(
                self.java_argv(lib, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                               "-c", str(conf), "--ignore-formatted"),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        id_file.write_text(cluster_id)

    def answers(self, expect_brokers: int | None = None, bootstrap: str | None = None) -> bool:
        """True when the cluster serves metadata with all expected brokers registered."""
        import logging

        from aiokafka.admin import AIOKafkaAdminClient

        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refusals are expected here

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=bootstrap or self.bootstrap(), request_timeout_ms=3000
            )
            try:
                await asyncio.wait_for(admin.start(), 4)
                cluster = await asyncio.wait_for(admin.describe_cluster(), 4)
                count = len(cluster.get("brokers", []))
                return cluster.get("controller_id", -1) != -1 and (
                    expect_brokers is None or count >= expect_brokers
                )
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(probe())

    def other_cluster_running(self) -> int | None:
        other = 3 if self.brokers == 1 else 1
        cluster = KafkaCluster(self.settings, other)
        return other if any(cluster.proc(n).pid() for n in cluster.nodes()) else None

    def up(self) -> str:
        if not self.settings.kafka_provisioned:
            if not self.answers(bootstrap=self.settings.kafka_bootstrap):
                raise StackError(
                    f"VOTEWIRE_KAFKA_BOOTSTRAP={self.settings.kafka_bootstrap} does not answer"
                )
            return f"external {self.settings.kafka_bootstrap}: answering"
        other = self.other_cluster_running()
        if other:
            raise StackError(f"a {other}-broker cluster is running: `stack down` it first")
        if all(self.proc(n).pid() for n in self.nodes()) and self.answers(self.brokers):
            return f"already running ({self.brokers} broker(s) at {self.bootstrap()})"
        lib = resolve_kafka_jars(self.settings.cache_dir)
        started = time.monotonic()
        self.format_storage(lib)
        for node in self.nodes():
            if self.proc(node).pid() is None:
                conf = self.write_config(node)
                self.proc(node).start(
                    self.java_argv(lib, "kafka.Kafka", str(conf)), self.log_file(node)
                )
        wait_until(
            lambda: self.answers(self.brokers),
            START_DEADLINE_S,
            f"kafka ({self.brokers} broker(s))",
            self.log_file(1),
        )
        return (
            f"Kafka {kafka_version()} started: {self.brokers} broker(s) at {self.bootstrap()} "
            f"in {time.monotonic() - started:.1f}s"
        )

    def down(self) -> str:
        stopped = [n for n in self.nodes() if self.proc(n).stop()]
        return f"stopped node(s) {stopped}" if stopped else "not running"

    def status(self) -> str:
        if not self.settings.kafka_provisioned:
            ok = self.answers(bootstrap=self.settings.kafka_bootstrap)
            return f"external {self.settings.kafka_bootstrap}: {'answering' if ok else 'NOT answering'}"
        lines = []
        for node in self.nodes():
            pid = self.proc(node).pid()
            lines.append(
                f"  node {node}: 127.0.0.1:{self.port(node)} pid={pid or '-'} "
                f"log {self.log_file(node)}"
            )
        running = any(self.proc(n).pid() for n in self.nodes())
        state = "answering" if running and self.answers() else ("stopped" if not running else "NOT answering")
        return f"Kafka {kafka_version()} x{self.brokers}: {state}\n" + "\n".join(lines)


# ---------------------------------------------------------------- commands


def running_brokers(settings: Settings) -> int:
    for brokers in (3, 1):
        cluster = KafkaCluster(settings, brokers)
        if any(cluster.proc(n).pid() for n in cluster.nodes()):
            return brokers
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="votewire stack", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Kafka and Redis (idempotent)")
    up.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    sub.add_parser("down", help="stop what this stack started")
    sub.add_parser("status", help="what runs where")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "up":
            log(f"state dir {settings.state_dir}")
            log(f"redis: {RedisServer(settings).up()}")
            log(f"kafka: {KafkaCluster(settings, args.brokers).up()}")
        elif args.command == "down":
            for brokers in (1, 3):
                result = KafkaCluster(settings, brokers).down()
                if result != "not running":
                    log(f"kafka x{brokers}: {result}")
            log(f"redis: {RedisServer(settings).down()}")
        else:
            print(f"state dir: {settings.state_dir}")
            print(f"redis: {RedisServer(settings).status()}")
            print(KafkaCluster(settings, running_brokers(settings)).status())
    except (StackError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
