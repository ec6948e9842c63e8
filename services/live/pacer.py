"""At most `max_hz` updates a second per channel into the hub: conflation at the source.

The cost of fanning out grows with subscribers x updates. The national
summary may change twenty times a second on election night and every client
watches it: 10,000 clients would need 200,000 frames a second. Per-client
conflation (mailbox.py) only helps clients whose writer is busy, so with
fast clients the whole process saturates and *every* channel falls behind.
The pacer caps the rate per channel instead: the first update after a quiet
interval goes out at once; later ones within `1 / max_hz` wait, each
replacing the one before, and the newest goes out when the interval ends.
An update thus waits at most one interval, clients see seq jumps exactly as
with conflation (views are whole documents; the skipped ones are in the
Redis stream for a resume), and the fan-out cost stops tracking the
upstream rate. Channels that change less often than `max_hz` (a race, a
region) are never delayed. `max_hz` 0 turns pacing off. Event channels
(`anomalies:E`, whose every update is one new event, live/anomalies.py) are
never paced.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from votewire.live.anomalies import is_event_channel
from votewire.live.hub import Hub


class Pacer:
    """Feeds `hub`, at most `max_hz` publishes per channel. Lives on one event loop."""

    def __init__(
        self,
        hub: Hub,
        max_hz: float,
        clock: Callable[[], float] = time.monotonic,
        call_later: Callable[[float, Callable[[str], None], str], object] | None = None,
    ) -> None:
        self.hub = hub
        self.interval = 1.0 / max_hz if max_hz > 0 else 0.0
        self.clock = clock
        self._call_later = call_later
        self.superseded = 0
        """Updates replaced by a newer one before their turn (never published)."""
        self._last: dict[str, float] = {}
        """When each channel last published (one entry per channel the aggregate writes)."""
        self._waiting: dict[str, tuple[str, int, bytes]] = {}

    def offer(self, channel: str, epoch: str, seq: int, frame: bytes) -> None:
        """Publish now if the channel's interval has passed, else keep it as the newest."""
        if not self.interval or is_event_channel(channel):
            self.hub.publish(channel, epoch, seq, frame)
            return
        now = self.clock()
        waiting = self._waiting.get(channel)
        if waiting is not None:
            if waiting[0] == epoch and waiting[1] >= seq:
                return  # an older one arrived late: the waiting one supersedes it
            self._waiting[channel] = (epoch, seq, frame)
            self.superseded += 1
            return
        due = self._last.get(channel, -1e18) + self.interval
        if now >= due:
            self._last[channel] = now
            self.hub.publish(channel, epoch, seq, frame)
            return
        self._waiting[channel] = (epoch, seq, frame)
        call_later = self._call_later or asyncio.get_running_loop().call_later
        call_later(due - now, self._release, channel)

    def _release(self, channel: str) -> None:
        waiting = self._waiting.pop(channel, None)
        if waiting is not None:
            self._last[channel] = self.clock()
            self.hub.publish(channel, *waiting)
