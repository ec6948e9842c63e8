"""CPU seconds of named processes over a stretch of a benchmark (Linux /proc).

On a shared, noisy machine a run's latency swings 3x from one minute to the
next, but the CPU each process spends on the same work moves far less:
`CpuMeter` gives that cost, per process, for what happened between `start`
and `stop` (user + system time of the process and its threads, not of its
children).

    meter = CpuMeter({"worker": pid, "kafka": kafka_pid(settings)})
    meter.start(); ...; used = meter.stop()   # {"worker": 1.92, "kafka": 0.61}
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` so far; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def pid_in(file: Path) -> int | None:
    """The pid a pid file names, if the file is there and holds a number."""
    try:
        return int(file.read_text().strip())
    except (OSError, ValueError):
        return None


class CpuMeter:
    """CPU seconds per named process between `start` and `stop`."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid is not None}
        self._begun: dict[str, float] = {}

    def start(self) -> None:
        self._begun = {}
        for name, pid in self.pids.items():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                self._begun[name] = seconds

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, began in self._begun.items():
            seconds = cpu_seconds(self.pids[name])
            if seconds is not None:
                used[name] = seconds - began
        return used
