"""One timer task per process for every connection: heartbeats and stuck sends.

Per-connection timers (a heartbeat task, a timeout around every send) cost
a task and a timer handle per client and per frame; with thousands of
clients that is most of the fan-out's overhead. Instead each session keeps
timestamps (`Beat`) that its loops update for free, and this one task looks
at all of them every `tick` seconds. Detection is thus up to one tick late,
which the tick (a quarter of the shortest deadline) keeps small.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from votewire.live.limits import LiveLimits


class Watched(Protocol):
    def check(self, now: float) -> None: ...


def tick_for(limits: LiveLimits) -> float:
    """How often to look: a quarter of the shortest deadline, within [20 ms, 1 s]."""
    shortest = min(limits.send_deadline_s, limits.pong_timeout_s, limits.ping_interval_s)
    return max(0.02, min(1.0, shortest / 4))


class Watchdog:
    def __init__(self, limits: LiveLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.tick = tick_for(limits)
        self.clock = clock
        self._watched: set[Watched] = set()

    def watch(self, session: Watched) -> None:
        self._watched.add(session)

    def forget(self, session: Watched) -> None:
        self._watched.discard(session)

    def check_all(self) -> None:
        now = self.clock()
        for session in list(self._watched):
            session.check(now)

    async def run(self) -> None:
        """Check every session each tick, until cancelled."""
        while True:
            await asyncio.sleep(self.tick)  # the tick of the timer wheel
            self.check_all()
