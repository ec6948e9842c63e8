"""What every request of the live service shares: built once by the lifespan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from votewire.live.access import Access
from votewire.live.elections import ElectionIndex
from votewire.live.feed import FeedStatus
from votewire.live.hub import Hub
from votewire.live.limits import ConnectionCounter, LiveLimits
from votewire.live.pacer import Pacer
from votewire.live.view_store import ViewStore
from votewire.live.watchdog import Watchdog


@dataclass
class LiveContext:
    views: ViewStore
    hub: Hub
    limits: LiveLimits
    access: Access
    connections: ConnectionCounter
    watchdog: Watchdog
    pacer: Pacer
    feed: FeedStatus = field(default_factory=FeedStatus)
    elections: ElectionIndex = field(default_factory=ElectionIndex)
    closes: Counter[str] = field(default_factory=Counter)
    """Connections closed by the server, by close reason (health shows them)."""
    sessions: int = 0
    """Sessions currently running."""
