"""The live service's limits, and the per-address connection count.

Every limit is a setting (services/config.py, `VOTEWIRE_LIVE_*`). The
connection count is per process: with N live processes behind a balancer an
address may hold up to N x the limit, which is what the limit is for (one
runaway client cannot exhaust one process's file descriptors or memory).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from votewire.config import Settings


@dataclass(frozen=True, slots=True)
class LiveLimits:
    max_channels: int = 64
    max_frame_bytes: int = 4096
    max_connections_per_ip: int = 200
    """0: unlimited."""
    send_deadline_s: float = 10.0
    queue_max_bytes: int = 4 * 1024 * 1024
    ping_interval_s: float = 15.0
    pong_timeout_s: float = 10.0
    close_deadline_s: float = 2.0
    """How long a close frame may wait behind unsent data before the session gives up."""
    direct_writes: bool = True
    """Write pre-framed updates straight to idle sockets (direct.py)."""
    channel_max_hz: int = 2
    """Most updates a second into the hub per channel (pacer.py); 0: no cap."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LiveLimits:
        return cls(
            max_channels=settings.live_max_channels,
            max_frame_bytes=settings.live_max_frame_bytes,
            max_connections_per_ip=settings.live_max_connections_per_ip,
            send_deadline_s=settings.live_send_deadline_ms / 1000,
            queue_max_bytes=settings.live_queue_max_bytes,
            ping_interval_s=settings.live_ping_interval_ms / 1000,
            pong_timeout_s=settings.live_pong_timeout_ms / 1000,
            direct_writes=settings.live_direct_writes,
            channel_max_hz=settings.live_channel_max_hz,
        )


class ConnectionCounter:
    """Open connections per client address; `acquire` refuses beyond the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        if self.limit and self._open[address] >= self.limit:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def total(self) -> int:
        return sum(self._open.values())
