"""Logs, once per episode, when the worker turns unhealthy.

A "stalled" episode (health.py: input waiting, no progress) is logged with
the stack of every asyncio task, which shows where a stuck agent waits;
any other unhealthy status gets one line. Returning to health is logged
once. Starting and recovering are not episodes: the caller reports them
as healthy here.
"""

from __future__ import annotations

import asyncio
import io
import logging

log = logging.getLogger(__name__)


class StallReport:
    def __init__(self) -> None:
        self.reported: str | None = None

    def observe(self, ok: bool, reason: str) -> None:
        if ok:
            if self.reported is not None:
                log.warning("worker healthy again (was %s)", self.reported)
            self.reported = None
            return
        if self.reported == reason:
            return
        self.reported = reason
        if reason != "stalled":
            log.error("worker unhealthy (%s)", reason)
            return
        stacks = []
        for task in asyncio.all_tasks():
            out = io.StringIO()
            task.print_stack(limit=12, file=out)
            stacks.append(out.getvalue())
        log.error("worker unhealthy (%s); asyncio tasks:\n%s", reason, "\n".join(stacks))
