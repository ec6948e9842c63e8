"""Whether a race channel names a race that a loaded election has.

A subscription to `race:E:R` or `unit:E:R:...` where no loaded election has
race R of E is refused with `unknown_channel` (websocket) or 404
`unknown_race` (REST); a race that exists but was not heard from still gets
the empty snapshot (or 404 `no_view`). The live service holds no
definitions: it asks the election registry the aggregate keeps in Redis
(`infra.election_registry`: one set of race ids per election, one
membership check a question).

Rules (`exists`):
- channels of other kinds are not judged here (True);
- a race the registry lists exists;
- so does a race that has a view, whatever the registry says (fail open:
  a registry lost with Redis's data, or a race dropped from a replaced
  definition whose views stay for audit, never hides a view);
- otherwise it does not exist (an unknown election, or a race it lacks).

Answers are cached per (election, race): a known race for `known_ttl_s`, an
unknown one only for `unknown_ttl_s` (a definition loaded a moment later is
recognised within that, plus the aggregate's lag), at most `max_entries`
of them (least recently asked dropped first), so bogus names cost one Redis
round trip every `unknown_ttl_s` each, and memory stays bounded.
`ViewsUnavailable` passes through (the caller answers "unavailable").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from votewire.core.channels import race_channel
from votewire.infra.views import StoredView

KNOWN_TTL_S = 60.0
UNKNOWN_TTL_S = 2.0
MAX_ENTRIES = 10_000


class RaceRegistry(Protocol):
    async def has_race(self, election_id: str, race_id: str) -> bool | None: ...


class ViewReader(Protocol):
    async def get_view(self, channel: str) -> StoredView | None: ...


def race_of(channel: str) -> tuple[str, str] | None:
    """(election_id, race_id) of a race or unit channel; None for other kinds."""
    kind, _, rest = channel.partition(":")
    if kind not in ("race", "unit"):
        return None
    parts = rest.split(":")
    if len(parts) < 2:
        return None
    return parts[0], parts[1]


class KnownRaces:
    def __init__(
        self,
        registry: RaceRegistry,
        views: ViewReader,
        *,
        known_ttl_s: float = KNOWN_TTL_S,
        unknown_ttl_s: float = UNKNOWN_TTL_S,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.views = views
        self.known_ttl_s = known_ttl_s
        self.unknown_ttl_s = unknown_ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, bool]] = OrderedDict()

    async def exists(self, channel: str) -> bool:
        """See the module doc."""
        race = race_of(channel)
        if race is None:
            return True
        now = self.clock()
        cached = self._cache.get(race)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(race)
            return cached[1]
        found = bool(await self.registry.has_race(*race))
        if not found:
            found = await self.views.get_view(race_channel(*race)) is not None
        self._cache[race] = (now + (self.known_ttl_s if found else self.unknown_ttl_s), found)
        self._cache.move_to_end(race)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return found
