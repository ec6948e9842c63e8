"""Folding one report into its race: faust table state in, Redis view out.

`RaceFolder.fold` is the whole per-message path and it is total: a record that
cannot be decoded or whose race is unknown is counted and logged, never raised
(a raising agent would stop consuming while the worker keeps running).

Crash safety (at-least-once): the race state is written to the faust table
(changelog) before the offset is committed, and `RaceState.apply` is
idempotent per (race, precinct, kind, mark, revision); a re-delivered report
after a crash therefore changes nothing. Redis writes are conditional on the
view version, so a re-sent view never replaces a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from services.core.codec import decode_report_trusted, dumps, loads
from services.core.race_state import RaceState
from services.infra.definition_catalog import DefinitionCatalog
from services.infra.redis_views import RedisViews

log = logging.getLogger(__name__)

DEFINITION_WAIT_S = 10.0


def race_channel(election_id: str, race_id: str) -> str:
    return f"race:{election_id}:{race_id}"


@dataclass
class FoldCounters:
    folded: int = 0
    changed: int = 0
    undecodable: int = 0
    unknown: int = 0
    views_written: int = 0


@dataclass
class RaceFolder:
    catalog: DefinitionCatalog
    views: RedisViews
    table: MutableMapping[bytes, bytes]
    """race key -> RaceState.to_dict() JSON: the durable state (faust changelog)."""
    counters: FoldCounters = field(default_factory=FoldCounters)
    _cache: dict[bytes, RaceState] = field(default_factory=dict)

    def forget_cache(self) -> None:
        """Call on rebalance: the table is the truth for newly assigned races."""
        self._cache.clear()

    async def fold(self, key: bytes | None, value: bytes | None) -> None:
        try:
            report = decode_report_trusted(loads(value or b""))
        except (ValueError, KeyError, TypeError) as exc:
            self.counters.undecodable += 1
            log.error("undecodable record (key %r): %s", key, exc)
            return
        race_key = f"{report.election_id}/{report.race_id}".encode()
        state = self._cache.get(race_key)
        if state is None:
            await self.catalog.ready.wait()
            definition = self.catalog.get(report.election_id) or await self.catalog.wait_for(
                report.election_id, DEFINITION_WAIT_S
            )
            if definition is None or definition.race(report.race_id) is None:
                self.counters.unknown += 1
                log.error("report %s for unknown election/race", report.report_id)
                return
            stored = self.table.get(race_key)
            state = (
                RaceState.from_dict(definition, loads(stored))
                if stored
                else RaceState(definition, report.race_id)
            )
            self._cache[race_key] = state
        result = state.apply(report)
        self.counters.folded += 1
        if not result.changed:
            return
        self.counters.changed += 1
        self.table[race_key] = dumps(state.to_dict())
        await self.write_view(report.election_id, state)

    async def write_view(self, election_id: str, state: RaceState) -> None:
        """Write the race view, retrying while Redis is away (Kafka keeps the truth)."""
        channel = race_channel(election_id, state.race_id)
        doc = dumps(state.view())
        delay = 0.1
        while True:
            try:
                if await self.views.put_view(channel, state.version, doc) is not None:
                    self.counters.views_written += 1
                return
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                log.warning("redis write failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
