"""What the aggregate publishes when it learns an election, before any report.

`ElectionOpener` listens to the definition catalog (`listen`): for every
election it learns or sees change, it brings Redis in line with the catalog:

1. the election index (`infra.election_registry`): its region ids, then its
   race ids (so live can answer `unknown_election` for an election no
   definition has, `unknown_channel` for a race or region it lacks), dropped
   when the definition is removed; and whether it is retired (so live's listing
   leaves it out);
2. then, with a definition, the election's opening views
   (`publication.opening_publications`: every region and the national
   documents at zero counts, version 0), offered to the coalescing writer.
   The store's conditional write (`infra.views.replaces`) never lets an
   opening replace a real view (version >= 1); over an opening it writes
   one with other bytes (a definition corrected before any report: the
   newest definition's totals, pushed to live's subscribers) and skips an
   equal one (a restart or a re-delivered definition changes nothing). The
   index is written before the views, so once `/v1/elections` lists an
   election, its races are known to live.

Every step is idempotent and derived from the catalog, so a failed step is
simply retried (the election stays pending, with capped backoff), and every
`resync_s` the opener checks that each election's index is still in Redis
(a Redis that lost its data) and redoes the elections whose index is gone.
Cost per election: a set of region ids, one of race ids, one hash field, 2 x regions + 3
view offers; building the openings runs in a worker thread (it folds the
empty view of every race: about 0.2 s for 100,000 precincts).

Multiple aggregate workers each do this from their own catalog: the writes
are equal, so it does not matter which lands first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from redis.exceptions import RedisError
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import ViewSink
from votewire.core.models import ElectionDefinition
from votewire.core.publication import opening_publications
from votewire.core.retirement import Retired, retirement_value
from votewire.infra.election_registry import ElectionRegistry
from votewire.infra.views import ViewsUnavailable

log = logging.getLogger(__name__)

RESYNC_S = 30.0
MAX_BACKOFF_S = 10.0
FAILURES = (RedisError, OSError, ViewsUnavailable)


class Catalog(Protocol):
    """What the opener reads of `infra.definition_catalog.DefinitionCatalog`."""

    def get(self, election_id: str) -> ElectionDefinition | None: ...
    def all(self) -> dict[str, ElectionDefinition]: ...
    def retirement(self, election_id: str) -> Retired | None: ...


class ElectionOpener:
    """See the module doc. `changed` is the catalog listener; `run` the task."""

    def __init__(
        self,
        catalog: Catalog,
        index: ElectionRegistry,
        sink: ViewSink,
        metrics: Metrics,
        resync_s: float = RESYNC_S,
    ) -> None:
        self.catalog = catalog
        self.index = index
        self.sink = sink
        self.metrics = metrics
        self.resync_s = resync_s
        self.pending: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="election-opener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def changed(self, election_id: str) -> None:
        """The catalog's listener: `election_id` is to be brought in line."""
        self.pending.add(election_id)
        self._wake.set()

    async def run(self) -> None:
        """Sync pending elections until cancelled; never raises for a Redis failure."""
        backoff = 0.1
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.resync_s)
            self._wake.clear()
            try:
                await self.check_indexed()
                while self.pending:
                    election_id = min(self.pending)
                    try:
                        await self.sync(election_id)
                    except FAILURES:
                        raise
                    except Exception:  # a bug: log it, keep serving the other elections
                        self.metrics.count("opening_errors")
                        log.exception("cannot open election %r", election_id)
                    self.pending.discard(election_id)
                backoff = 0.1
            except FAILURES as exc:
                self.metrics.count("opening_failures")
                log.warning("election index/openings not written (%s); retrying", exc)
                await asyncio.sleep(backoff)  # capped backoff between Redis retries
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                self._wake.set()

    async def check_indexed(self) -> None:
        """Mark pending every election whose index Redis no longer holds."""
        known = sorted(self.catalog.all())
        there = await self.index.indexed(known)
        self.pending.update(e for e in known if e not in there)

    async def sync(self, election_id: str) -> None:
        """Bring Redis in line with the catalog for one election (idempotent)."""
        definition = self.catalog.get(election_id)
        if definition is None:
            await self.index.drop_races(election_id)
        else:
            await self.index.put_regions(election_id, (g.region_id for g in definition.regions))
            await self.index.put_races(election_id, (r.race_id for r in definition.races))
        retired = self.catalog.retirement(election_id)
        if retired is None:
            await self.index.unretire(election_id)
        else:
            await self.index.retire(election_id, retirement_value(retired))
        if definition is not None:
            for publication in await asyncio.to_thread(opening_publications, definition):
                self.sink.offer(*publication)
            self.metrics.count("elections_opened")
