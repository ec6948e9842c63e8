"""Which race channels name a race of a loaded election: the rules and the cache."""

from __future__ import annotations

from votewire.infra.election_registry import MemoryElectionRegistry
from votewire.infra.memory_views import MemoryViews
from votewire.live.known_races import KnownRaces, race_of


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingRegistry(MemoryElectionRegistry):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    async def has_race(self, election_id: str, race_id: str) -> bool | None:
        self.asked += 1
        return await super().has_race(election_id, race_id)


def test_race_of_reads_race_and_unit_channels_only() -> None:
    """race:E:R and unit:E:R:L.U name (E, R); other kinds are not judged."""
    assert race_of("race:e:r1") == ("e", "r1")
    assert race_of("unit:e:r1:region.north") == ("e", "r1")
    assert race_of("summary:e") is None and race_of("region:e:g") is None


async def test_an_unknown_race_becomes_known_once_its_election_is_loaded() -> None:
    """Unknown answers are cached briefly: after `unknown_ttl_s` the registry is asked
    again, so a definition loaded later is recognised; known answers are cached longer."""
    registry, clock = CountingRegistry(), Clock()
    known = KnownRaces(registry, MemoryViews(), unknown_ttl_s=2.0, known_ttl_s=60.0, clock=clock)
    assert not await known.exists("race:e:r1")
    assert not await known.exists("unit:e:r1:region.x") and registry.asked == 1  # cached
    await registry.put_races("e", ["r1"])
    assert not await known.exists("race:e:r1")  # still within the short cache
    clock.now += 2.0
    assert await known.exists("race:e:r1") and registry.asked == 2
    await registry.drop_races("e")
    clock.now += 59.0
    assert await known.exists("race:e:r1") and registry.asked == 2
    assert await known.exists("summary:nope") and registry.asked == 2


async def test_a_view_proves_a_race_exists_and_the_cache_is_bounded() -> None:
    """A race with a view exists whatever the registry says; the cache keeps at most
    `max_entries` answers, the least recently asked dropped first."""
    views, registry, clock = MemoryViews(), CountingRegistry(), Clock()
    await views.put_view("race:e:old", 3, b"{}")
    known = KnownRaces(registry, views, max_entries=2, clock=clock)
    assert await known.exists("race:e:old")
    for race in ("a", "b", "c"):
        assert not await known.exists(f"race:e:{race}")
    asked = registry.asked
    assert not await known.exists("race:e:c") and registry.asked == asked  # still cached
    assert await known.exists("race:e:old") and registry.asked == asked + 1  # was dropped
