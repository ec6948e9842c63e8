"""What every request of the live service shares: built once by the lifespan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.infra.redis_views import RedisViews
from services.live.access import Access
from services.live.elections import ElectionIndex
from services.live.feed import FeedStatus
from services.live.hub import Hub
from services.live.limits import ConnectionCounter, LiveLimits
from services.live.pacer import Pacer
from services.live.watchdog import Watchdog


@dataclass
class LiveContext:
    views: RedisViews
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
