"""What every request of the live service shares: built once by the lifespan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from votewire.infra.anomaly_feed import AnomalyPage
from votewire.live.access import Access
from votewire.live.anomalies import AnomalyReader
from votewire.live.elections import ElectionIndex, RetiredSource
from votewire.live.feed import FeedStatus
from votewire.live.hub import Hub
from votewire.live.known_races import KnownRaces, Unknown
from votewire.live.limits import ConnectionCounter, LiveLimits
from votewire.live.pacer import Pacer
from votewire.live.pipeline import CHANNEL as PIPELINE_CHANNEL
from votewire.live.pipeline import PipelineWatch
from votewire.live.subscription import ViewSource
from votewire.live.view_store import ViewStore
from votewire.live.watchdog import Watchdog


class NoAnomalies:
    """An `AnomalyReader` with nothing to read (a context built without a feed)."""

    async def page(
        self, election_id: str, *, before: int | None = None, after: int | None = None,
        limit: int = 100,
    ) -> AnomalyPage:  # fmt: skip
        return AnomalyPage(0, [])


@dataclass
class LiveContext:
    views: ViewStore
    hub: Hub
    limits: LiveLimits
    access: Access
    connections: ConnectionCounter
    watchdog: Watchdog
    pacer: Pacer
    pipeline: PipelineWatch
    feed: FeedStatus = field(default_factory=FeedStatus)
    elections: ElectionIndex = field(default_factory=ElectionIndex)
    closes: Counter[str] = field(default_factory=Counter)
    """Connections closed by the server, by close reason (health shows them)."""
    sessions: int = 0
    """Sessions currently running."""
    anomalies: AnomalyReader = field(default_factory=NoAnomalies)
    """The anomaly feeds, for REST paging (the channel itself comes through `views`)."""
    metrics: Any = None
    """The Prometheus collector over this context (metrics.LiveMetrics), set by the lifespan."""
    frames_sent: int = 0
    """Frames written by the sessions' writers (direct writes: `hub.written_direct`)."""
    known: KnownRaces | None = None
    """Which channels name an election, race or region that is loaded (None: every one does)."""
    retired: RetiredSource | None = None
    """The retired elections, left out of `GET /v1/elections` (None: none is)."""

    async def unknown(self, channel: str) -> Unknown | None:
        """Why `channel` names no loaded election, race or region; None if it does (or
        nobody can tell: no registry). See `known_races`."""
        return None if self.known is None else await self.known.unknown(channel)

    def views_for(self, channel: str) -> ViewSource:
        """Where `channel`'s view is read: this process for the pipeline status, else Redis."""
        return self.pipeline if channel == PIPELINE_CHANNEL else self.views
