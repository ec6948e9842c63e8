"""The aggregate's opener: the election registry and zero-count views follow the catalog."""

from __future__ import annotations

import asyncio
import json

from builders import small_definition
from votewire.aggregate.metrics import Metrics
from votewire.aggregate.openings import ElectionOpener
from votewire.core.models import ElectionDefinition
from votewire.core.publication import opening_publications
from votewire.core.retirement import Retired
from votewire.infra.election_registry import MemoryElectionRegistry
from votewire.infra.views import ViewsUnavailable

from tests.support.polling import eventually

E = "kz-test"


class Catalog:
    def __init__(self, *definitions: ElectionDefinition) -> None:
        self.definitions = {d.election_id: d for d in definitions}
        self.retired: dict[str, Retired] = {}

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self.definitions.get(election_id)

    def all(self) -> dict[str, ElectionDefinition]:
        return dict(self.definitions)

    def retirement(self, election_id: str) -> Retired | None:
        return self.retired.get(election_id)


class Sink:
    def __init__(self) -> None:
        self.offered: dict[str, tuple[int, bytes]] = {}

    def offer(self, channel: str, version: int, doc: bytes) -> None:
        self.offered[channel] = (version, doc)

    def offer_row(self, table: str, key: str, row: bytes) -> None:
        raise AssertionError("the opener writes no rows")


class FlakyRegistry(MemoryElectionRegistry):
    """Fails its first `failures` writes, as a Redis that is not there yet would."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def put_races(self, election_id: str, race_ids: object) -> None:
        if self.failures:
            self.failures -= 1
            raise ViewsUnavailable("redis: down")
        await super().put_races(election_id, race_ids)  # type: ignore[arg-type]


async def test_sync_writes_the_race_index_the_retirement_and_the_opening() -> None:
    """One sync: the region and race ids, retired or not, and exactly
    `opening_publications`; a removed definition drops both id sets."""
    definition = small_definition()
    catalog, registry, sink = Catalog(definition), MemoryElectionRegistry(), Sink()
    opener = ElectionOpener(catalog, registry, sink, Metrics())
    await opener.sync(E)
    assert registry.races[E] == {r.race_id for r in definition.races}
    assert registry.regions[E] == {"N", "S"} and await registry.has_region(E, "X") is False
    assert await registry.has_race(E, "N1") and not await registry.has_race(E, "nope")
    assert await registry.has_race("other", "N1") is None
    assert sink.offered == {p.channel: (p.version, p.doc) for p in opening_publications(definition)}
    assert await registry.retired() == set()
    catalog.retired[E] = Retired(E, "2026-07-26T00:00:00.000Z", "admin")
    await opener.sync(E)
    assert await registry.retired() == {E}
    assert json.loads(registry.retirements[E])["retired_by"] == "admin"
    del catalog.retired[E], catalog.definitions[E]
    await opener.sync(E)
    assert await registry.retired() == set() and E not in registry.races
    assert E not in registry.regions


async def test_the_running_opener_retries_a_failing_store_and_redoes_a_lost_index() -> None:
    """A change while Redis fails is written once it answers; an index lost later (a
    wiped Redis) is found on the next resync and written again."""
    catalog, registry, sink = Catalog(small_definition()), FlakyRegistry(failures=2), Sink()
    metrics = Metrics()
    opener = ElectionOpener(catalog, registry, sink, metrics, resync_s=0.05)
    opener.start()
    try:
        opener.changed(E)

        async def indexed() -> bool | None:
            return E in registry.races or None

        await eventually(indexed, 5, "the index written after two failures")
        assert metrics.counters["opening_failures"] == 2 and sink.offered
        registry.races.clear()
        sink.offered.clear()
        await eventually(indexed, 5, "the lost index written again")
        await eventually(lambda: asyncio.sleep(0, bool(sink.offered) or None), 5, "re-offered")
    finally:
        await opener.stop()
