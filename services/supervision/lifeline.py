"""A child that dies with its parent.

    python -m votewire.supervision.lifeline [--parent PID] -- ARGV...

Asks Linux to send SIGTERM to this process when its parent exits
(`prctl(PR_SET_PDEATHSIG)`), then execs ARGV, which keeps that request. So
even a `kill -9` of `votewire up` leaves no orphan: supervisord gets SIGTERM
and stops the services, and if supervisord itself is killed, each service gets
SIGTERM and shuts down as usual. With `--parent PID`, a parent that died in
the microseconds between fork and prctl is noticed (`os.getppid()` is no
longer PID) and ARGV is not run. Elsewhere than Linux the request is skipped
and ARGV runs as it is.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def hold_on(death_signal: int = signal.SIGTERM) -> bool:
    """Ask for `death_signal` when the parent exits; True if the kernel agreed."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) == 0)


USAGE = "usage: python -m votewire.supervision.lifeline [--parent PID] -- COMMAND [ARGS...]"


def main(argv: list[str]) -> int:
    parent = None
    if argv[:1] == ["--parent"] and len(argv) > 1 and argv[1].isdigit():
        parent, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    if hold_on() and parent is not None and os.getppid() != parent:
        return 1  # the parent is already gone: nothing to serve
    os.execvp(argv[0], argv)
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
