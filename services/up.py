"""`votewire up`: the stack and the three services in the foreground, supervised.

Starts the local Kafka and Redis as `votewire stack up` does (skipped when
VOTEWIRE_KAFKA_BOOTSTRAP and VOTEWIRE_REDIS_URL both name servers of your
own; the stack outlives `up`, `stack down` stops it), then ingest, the
aggregate (a races and a rollups process: `aggregate` and `rollups`) and live
under supervisord (votewire.supervision), waits until each answers
its health URL, prints where they listen, and stays in the foreground:
- a service that exits is restarted (at once after a crash, with a growing
  delay if it keeps dying during start-up) and each restart is printed with
  `[up] !!!`; health changes are printed too;
- Ctrl-C or SIGTERM stops every service, then `up` exits 0;
- `votewire stack status` lists the services (pid, port, health, restarts),
  `votewire stack down` stops them and the stack.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping

from votewire.command import command as votewire_command
from votewire.config import Settings, local_stack_script
from votewire.supervision.foreground import (
    SupervisionError,
    Supervisor,
    log,
    stop_on_signals,
)


def ensure_stack(settings: Settings) -> bool:
    """`stack up` unless both Kafka and Redis are external; False if it failed."""
    if not (settings.kafka_provisioned or settings.redis_provisioned):
        return True
    stack = runpy.run_path(str(local_stack_script()), run_name="votewire_stack")
    return bool(stack["main"](["up"]) == 0)


def addresses(settings: Settings) -> None:
    host = settings.host
    log(f"ingest    http://{host}:{settings.ingest_port}/v1/reports")
    log(f"live      http://{host}:{settings.live_port}/  (dashboard; websocket /v1/live)")
    log(f"aggregate http://{host}:{settings.aggregate_port}/metrics  (races: stage 1)")
    log(f"rollups   http://{host}:{settings.rollups_port}/metrics  (stages 2 and 3)")


def start(overrides: Mapping[str, str] | None = None) -> Supervisor:
    """The stack, then the services under supervision, healthy; raises SupervisionError."""
    env = {**os.environ, **(overrides or {})}
    settings = Settings.from_env(env)
    if not ensure_stack(settings):
        raise SupervisionError("the local stack did not start (its messages are above)")
    supervisor = Supervisor(settings, env)
    try:
        supervisor.start()
        log(f"all services healthy after {supervisor.wait_healthy():.1f} s")
    except BaseException:
        supervisor.stop()
        raise
    addresses(settings)
    supervisor.watch_health()
    return supervisor


@votewire_command("up", help="The stack and the three services in the foreground, supervised.")
def command() -> int:
    with stop_on_signals():
        supervisor = None
        try:
            supervisor = start()
            log("running; Ctrl-C stops every service")
            status = supervisor.wait()
            log(f"!!! supervisord exited (status {status}): the services are stopped")
            return 0 if status == 0 else 1
        except SupervisionError as exc:
            log(f"error: {exc}")
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            if supervisor is not None:
                supervisor.stop()
