"""supervisord's event listener: counts restarts and says each one loudly.

    python -m votewire.supervision.listener --restarts RUN/restarts.json --say LOGS/supervision.log

supervisord sends it every PROCESS_STATE_* event (supervisor's event
listener protocol on stdin/stdout). `RestartBook` turns events into
- a line appended to the `--say` file for every exit that nobody asked
  for, every retry, every recovery and a give-up, prefixed `[up] !!!` when
  something died; `votewire up` prints that file's new lines on its terminal
  (a child of supervisord cannot write there itself: supervisord captures
  its output, and re-opening the terminal's file by name writes over it when
  it is a redirected file);
- per service: restarts (respawns after an exit that was not a stop
  request), the time and pid of the last such exit, the current state;
  written atomically to the restarts file after each change, for
  `stack status`.
Stops that supervisord was asked for (STOPPING, STOPPED) are quiet. The
listener itself is restarted by supervisord if it dies; its counts start
again from the file it wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from votewire.supervision.conf import START_RETRIES, START_S
from votewire.supervision.layout import write_json

RESPAWN_FROM = {"EXITED", "BACKOFF"}


@dataclass
class ServiceRecord:
    restarts: int = 0
    last_exit_at: str = ""
    last_exit_pid: int = 0
    state: str = ""


class RestartBook:
    """What the events say about each service (module doc); no I/O."""

    def __init__(
        self,
        records: dict[str, ServiceRecord] | None = None,
        clock: Callable[[], float] = time.time,
        ignore: tuple[str, ...] = ("watch",),
    ) -> None:
        self.records = records or {}
        self.clock = clock
        self.ignore = ignore

    def observe(self, event: str, fields: dict[str, str]) -> str | None:
        """Apply one event (`PROCESS_STATE_EXITED`, its payload's fields); the line to say."""
        name = fields.get("processname", "")
        if not event.startswith("PROCESS_STATE_") or not name or name in self.ignore:
            return None
        state = event.removeprefix("PROCESS_STATE_")
        record = self.records.setdefault(name, ServiceRecord())
        record.state = state
        now = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        pid = fields.get("pid", "?")
        if state == "EXITED":
            record.last_exit_at, record.last_exit_pid = now, int(pid) if pid.isdigit() else 0
            return f"{now} [up] !!! {name} (pid {pid}) EXITED, nobody asked it to; restarting it"
        if state == "STARTING" and fields.get("from_state") in RESPAWN_FROM:
            record.restarts += 1
            return f"{now} [up] restarting {name} (restart {record.restarts})"
        if state == "BACKOFF":
            tries = fields.get("tries", "?")
            return (
                f"{now} [up] !!! {name} died within {START_S} s of starting (try {tries} of "
                f"{START_RETRIES + 1}); next try in {tries} s; see its log"
            )
        if state == "RUNNING" and record.restarts:
            return f"{now} [up] {name} is running again (pid {pid}, restarts {record.restarts})"
        if state == "FATAL":
            return (
                f"{now} [up] !!! GAVE UP on {name}: it died during start-up {START_RETRIES + 1} "
                "times in a row. The other services keep running; read its log, fix the "
                "cause, restart `votewire up`"
            )
        return None


def load(path: Path) -> dict[str, ServiceRecord]:
    """The records a previous listener wrote; empty if none or unreadable."""
    try:
        raw = json.loads(path.read_text())
        return {name: ServiceRecord(**entry) for name, entry in raw.items()}
    except (OSError, ValueError, TypeError):
        return {}


def serve(book: RestartBook, path: Path, stdin: TextIO, stdout: TextIO, say: TextIO) -> None:
    """supervisord's protocol: READY, a header line, a payload, RESULT; until stdin closes."""
    from supervisor import childutils  # type: ignore[import-untyped]

    while True:
        childutils.listener.ready(stdout)
        line = stdin.readline()
        if not line:
            return
        headers = childutils.get_headers(line)
        payload = stdin.read(int(headers["len"]))
        fields = childutils.get_headers(payload.split("\n", 1)[0])
        said = book.observe(headers.get("eventname", ""), fields)
        if said:
            print(said, file=say, flush=True)
        write_json(path, {name: asdict(r) for name, r in book.records.items()})
        childutils.listener.ok(stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="votewire.supervision.listener")
    parser.add_argument("--restarts", type=Path, required=True)
    parser.add_argument("--say", type=Path, required=True)
    args = parser.parse_args(argv)
    book = RestartBook(load(args.restarts))
    with open(args.say, "a", encoding="utf-8") as say:
        serve(book, args.restarts, sys.stdin, sys.stdout, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
