"""Apache Kafka (KRaft) from Maven Central as 1 or 3 stack processes."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from votewire.config import Settings

from local_stack.processes import (
    START_DEADLINE_S,
    Managed,
    StackError,
    log,
    port_taken,
    wait_until,
)

DEPLOY_DIR = Path(__file__).resolve().parents[1]
POM = DEPLOY_DIR / "kafka" / "pom.xml"
LOG4J2 = DEPLOY_DIR / "kafka" / "log4j2.yaml"


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
            "-Dstyle.color=never",
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


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url. Like Kafka's own Uuid.randomUuid,
    never one starting with "-", which StorageTool's argument parser takes for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


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
        return Managed(f"kafka{self.brokers}-{node}", self.settings.state_dir / "run", str(conf))

    def log_file(self, node: int) -> Path:
        return self.settings.state_dir / "logs" / f"kafka{self.brokers}-{node}.log"

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
        cluster_id = new_cluster_id()
        for node in self.nodes():
            conf = self.write_config(node)
            subprocess.run(
                self.java_argv(
                    lib,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(conf),
                    "--ignore-formatted",
                ),
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
        for node in self.nodes():
            ports = (self.port(node), self.controller_port(node))
            if self.proc(node).pid() is None and any(port_taken(p) for p in ports):
                raise StackError(
                    f"port {ports} of node {node} is taken by a process this stack did not "
                    "start: set VOTEWIRE_KAFKA_BOOTSTRAP to use that broker, or "
                    "VOTEWIRE_KAFKA_PORT / VOTEWIRE_KAFKA_CONTROLLER_PORT to move"
                )
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
            state = "answering" if ok else "NOT answering"
            return f"external {self.settings.kafka_bootstrap}: {state}"
        lines = []
        for node in self.nodes():
            pid = self.proc(node).pid()
            lines.append(
                f"  node {node}: 127.0.0.1:{self.port(node)} pid={pid or '-'} "
                f"log {self.log_file(node)}"
            )
        running = any(self.proc(n).pid() for n in self.nodes())
        answering = running and any(self.answers() for _ in range(3))
        state = "answering" if answering else ("NOT answering" if running else "stopped")
        return f"Kafka {kafka_version()} x{self.brokers}: {state}\n" + "\n".join(lines)
