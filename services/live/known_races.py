"""Whether a channel names an election, race or region that a loaded election has.

The live service holds no definitions: it asks the election registry the
aggregate keeps in Redis (`infra.election_registry`: per election, a set of
race ids and one of region ids; one membership check a question). An
election exists once its definition is loaded (its race index is written).

A subscription (websocket) or read (REST) of a channel that names nothing
loaded is refused, so a typo in an id is an error, never "no results yet"
forever (`unknown`, the reason it returns):
- any `summary:E`, `turnout:E[:G]`, `races:E`, `region:E:G`, `race:E:R` or
  `unit:E:R:...` of an election E no definition has: `unknown_election`
  (websocket error frame and REST 404);
- `race:E:R` / `unit:E:R:...` of a race the loaded election lacks:
  `unknown_race` (REST 404; `unknown_channel` on the websocket);
- `region:E:G` / `turnout:E:G` of a region it lacks: `unknown_region`
  (REST 404; `unknown_channel` on the websocket); an index written before
  region ids were kept lists none, and then every region is taken as known
  (it cannot tell);
- channels of other kinds are not judged (`status:pipeline`, `anomalies:E`);
- a channel with a view exists whatever the registry says (fail open: a
  registry lost with Redis's data, or a race dropped from a replaced
  definition whose views stay for audit, never hides a view); for a unit
  channel, the view of its race.
A loaded election, race or region not heard from is known: it gets its
opening view or the empty snapshot (REST 404 `no_view`), as before.

Answers are cached per judged channel (a unit channel is judged as its
race): a known one for `known_ttl_s`, an unknown one only for
`unknown_ttl_s` (a definition loaded a moment later is recognised within
that, plus the aggregate's lag), at most `max_entries` of them (least
recently asked dropped first), so memory stays bounded. A cached unknown
answer is still checked against the channel's view on every ask (one read):
a client that polled a channel while its election was being loaded is not
refused for `unknown_ttl_s` once the opening is published (the aggregate
writes the registry before the views). So a bogus name costs one view read
an ask and one registry round trip every `unknown_ttl_s`.
`ViewsUnavailable` passes through (the caller answers "unavailable").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from votewire.core.channels import race_channel
from votewire.infra.views import StoredView

KNOWN_TTL_S = 60.0
UNKNOWN_TTL_S = 2.0
MAX_ENTRIES = 10_000

ELECTION_KINDS = frozenset({"race", "unit", "region", "summary", "turnout", "races"})
"""The channel kinds whose first id is an election judged by `unknown`."""


class Unknown(NamedTuple):
    """Why a channel names nothing loaded: `code` is `unknown_election`, `unknown_race`
    or `unknown_region` (REST; the websocket says `unknown_election` or
    `unknown_channel`)."""

    code: str
    message: str


UNKNOWN_ELECTION = Unknown("unknown_election", "no loaded election has this id")
UNKNOWN_RACE = Unknown("unknown_race", "no loaded election has this race")
UNKNOWN_REGION = Unknown("unknown_region", "the election has no such region")


class Subject(NamedTuple):
    """What a channel is judged by: `channel` (whose view proves it exists), `what` it
    names (`race`, `region` or `election`), the election and the race or region id."""

    channel: str
    what: str
    election_id: str
    item_id: str = ""


class RaceRegistry(Protocol):
    async def has_race(self, election_id: str, race_id: str) -> bool | None: ...
    async def has_region(self, election_id: str, region_id: str) -> bool | None: ...
    async def indexed(self, election_ids: Sequence[str]) -> set[str]: ...


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


def subject_of(channel: str) -> Subject | None:
    """What `channel` is judged by; None for a kind not judged (or no election id)."""
    kind, _, rest = channel.partition(":")
    ids = rest.split(":")
    if kind not in ELECTION_KINDS or not ids[0]:
        return None
    race = race_of(channel)
    if race is not None:
        return Subject(race_channel(*race), "race", *race)
    if kind in ("region", "turnout") and len(ids) == 2:
        return Subject(channel, "region", ids[0], ids[1])
    return Subject(channel, "election", ids[0])


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
        self._cache: OrderedDict[Subject, tuple[float, Unknown | None]] = OrderedDict()

    async def unknown(self, channel: str) -> Unknown | None:
        """Why `channel` names nothing loaded, or None if it does (see the module doc)."""
        subject = subject_of(channel)
        if subject is None:
            return None
        now = self.clock()
        cached = self._cache.get(subject)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(subject)
            if cached[1] is None or await self.views.get_view(subject.channel) is None:
                return cached[1]
            found = None  # published since: its registry entry was written first
        else:
            found = await self._judge(subject)
            if found is not None and await self.views.get_view(subject.channel) is not None:
                found = None
        self._cache[subject] = (now + (self.unknown_ttl_s if found else self.known_ttl_s), found)
        self._cache.move_to_end(subject)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return found

    async def _judge(self, subject: Subject) -> Unknown | None:
        """The registry's verdict alone."""
        election_id, item_id = subject.election_id, subject.item_id
        if subject.what == "race":
            has, miss = await self.registry.has_race(election_id, item_id), UNKNOWN_RACE
        elif subject.what == "region":
            has, miss = await self.registry.has_region(election_id, item_id), UNKNOWN_REGION
        else:
            has, miss = election_id in await self.registry.indexed([election_id]), UNKNOWN_ELECTION
        if not has:
            return UNKNOWN_ELECTION if has is None else miss
        return None
