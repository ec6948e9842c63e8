"""Whether the numbers this process serves are current: the aggregate's heartbeat, watched.

`PipelineWatch.run` reads the heartbeat hash (votewire.infra.heartbeat) every
`check_s` and judges it with `Freshness`: "live" while every aggregate worker
beats and says "ok", "stale" otherwise (no worker beats, one went silent,
one is recovering or stalled). The verdict is served three ways:

- as the channel `status:pipeline`, kept in this process, not in Redis (when
  the aggregate is dead nothing else would write "stale"): a subscriber gets a
  snapshot, then an update each time the state or reason changes (not every
  beat). Its epoch is this process's; `updates_since` never replays, so a
  resume gets the current snapshot flagged `resync`;
- in `/healthz` ("degraded" while stale) and `/v1/views/status:pipeline`;
- in /metrics (live/metrics.py).

Detection takes at most `stale_after_s + check_s` after the last beat. A
failed read of Redis is an unchanged heartbeat: it turns stale on time too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from datetime import UTC, datetime

from votewire.infra.heartbeat import Freshness, HeartbeatReader, HeartbeatStore, Pipeline
from votewire.infra.views import StoredView
from votewire.live.hub import Hub
from votewire.live.protocol import update_frame

log = logging.getLogger(__name__)

CHANNEL = "status:pipeline"


def check_interval(stale_after_s: float) -> float:
    """How often to read: a quarter of the staleness limit, within [0.1 s, 1 s]."""
    return max(0.1, min(1.0, stale_after_s / 4))


class PipelineWatch:
    def __init__(self, store: HeartbeatStore, hub: Hub, freshness: Freshness) -> None:
        self.reader = HeartbeatReader(store, freshness)
        self.hub = hub
        self.freshness = freshness
        self.check_s = check_interval(freshness.stale_after_s)
        self.epoch = f"p{secrets.token_hex(4)}"
        self.pipeline = Pipeline("stale", "no_heartbeat", None, 0)
        """Until the first read: nothing is known, so nothing is claimed current."""
        self.seq = 1
        self.changes = 0

    @property
    def stale(self) -> bool:
        return self.pipeline.state != "live"

    def view(self) -> dict[str, object]:
        at = self.pipeline.last_beat_at
        return {
            "state": self.pipeline.state,
            "reason": self.pipeline.reason,
            "last_beat_at": None if at is None else _iso(at),
            "workers": self.pipeline.workers,
            "stale_after_ms": round(self.freshness.stale_after_s * 1000),
        }

    async def get_view(self, channel: str) -> StoredView | None:
        if channel != CHANNEL:
            return None
        doc = json.dumps(self.view(), separators=(",", ":")).encode()
        return StoredView(CHANNEL, self.seq, self.seq, self.epoch, doc)

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None:
        return None  # no history: a resume always gets the snapshot

    async def check(self) -> Pipeline:
        """Read the heartbeat once, judge it, and tell subscribers if the verdict changed."""
        found = await self.reader.read()
        changed = (found.state, found.reason) != (self.pipeline.state, self.pipeline.reason)
        self.pipeline = found
        if changed:
            self._publish()
        return found

    def _publish(self) -> None:
        self.seq += 1
        self.changes += 1
        level = logging.WARNING if self.stale else logging.INFO
        log.log(level, "pipeline %s (%s)", self.pipeline.state, self.pipeline.reason)
        doc = json.dumps(self.view(), separators=(",", ":")).encode()
        frame = update_frame(StoredView(CHANNEL, self.seq, self.seq, self.epoch, doc))
        self.hub.publish(CHANNEL, self.epoch, self.seq, frame)

    async def run(self, started: asyncio.Event | None = None) -> None:
        """Check every `check_s` until cancelled; `started` is set after the first check."""
        while True:
            await self.check()
            if started is not None:
                started.set()
            await asyncio.sleep(self.check_s)  # the polling period


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
