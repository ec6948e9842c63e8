"""The local stack: a real Apache Kafka (KRaft) and a real Redis, run as processes.

    python deploy/stack.py up [--brokers 1|3]    # or: votewire stack up
    python deploy/stack.py status               # also the services `votewire up` supervises
    python deploy/stack.py down                 # stops those services first

Contract:
- `up` is idempotent: a server that already answers is left alone; one whose
  pid file is stale is started again. Each server is waited for with a
  deadline (no fixed sleeps) and `up` fails with the log's tail if it does not
  answer in time.
- Everything lives under VOTEWIRE_STATE_DIR: data, `logs/*.log`, `run/*.pid`.
  `down` stops only processes whose pid file this stack wrote and whose
  command line still matches what it started.
- `status` lists the services a running `votewire up` supervises (pid, port,
  health, restarts); `down` stops that supervisor (and so the services)
  before Kafka and Redis, so nothing is left writing to a stopped broker.
- If VOTEWIRE_KAFKA_BOOTSTRAP / VOTEWIRE_REDIS_URL point at existing servers,
  that server is not provisioned, only checked.
- Kafka jars come from Maven Central through deploy/kafka/pom.xml into
  VOTEWIRE_CACHE_DIR, once; later runs reuse them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_stack.kafka_cluster import KafkaCluster
from local_stack.processes import Managed, StackError, log
from local_stack.redis_server import RedisServer
from votewire.config import Settings
from votewire.supervision.control import status_text
from votewire.supervision.layout import STOP_WAIT_S, Layout


def stop_services(settings: Settings) -> str:
    """Stop the supervisor of `votewire up` for this state dir (it stops the services)."""
    layout = Layout(settings.state_dir)
    supervisor = Managed(layout.pid_file.stem, layout.run_dir, marker=str(layout.conf))
    if not supervisor.stop(deadline_s=max(STOP_WAIT_S.values()) + 15):
        return "not running"
    return "stopped"


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
            log(f"services: {stop_services(settings)}")
            for brokers in (1, 3):
                result = KafkaCluster(settings, brokers).down()
                if result != "not running":
                    log(f"kafka x{brokers}: {result}")
            log(f"redis: {RedisServer(settings).down()}")
        else:
            print(f"state dir: {settings.state_dir}")
            print(f"redis: {RedisServer(settings).status()}")
            print(KafkaCluster(settings, running_brokers(settings)).status())
            print(status_text(Layout(settings.state_dir)))
    except (StackError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
