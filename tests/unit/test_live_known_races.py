"""Which channels name an election, race or region that is loaded: the rules and the cache."""

from __future__ import annotations

from votewire.infra.election_registry import MemoryElectionRegistry
from votewire.infra.memory_views import MemoryViews
from votewire.live.known_races import (
    UNKNOWN_ELECTION,
    UNKNOWN_RACE,
    UNKNOWN_REGION,
    KnownRaces,
    race_of,
)


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
    assert await known.unknown("race:e:r1") == UNKNOWN_ELECTION
    assert await known.unknown("unit:e:r1:region.x") and registry.asked == 1  # cached
    await registry.put_races("e", ["r1"])
    assert await known.unknown("race:e:r1")  # still within the short cache
    clock.now += 2.0
    assert await known.unknown("race:e:r1") is None and registry.asked == 2
    await registry.drop_races("e")
    clock.now += 59.0
    assert await known.unknown("race:e:r1") is None and registry.asked == 2
    assert await known.unknown("anomalies:nope") is None and registry.asked == 2  # not judged


async def test_a_view_proves_a_race_exists_and_the_cache_is_bounded() -> None:
    """A race with a view exists whatever the registry says; the cache keeps at most
    `max_entries` answers, the least recently asked dropped first."""
    views, registry, clock = MemoryViews(), CountingRegistry(), Clock()
    await views.put_view("race:e:old", 3, b"{}")
    known = KnownRaces(registry, views, max_entries=2, clock=clock)
    assert await known.unknown("race:e:old") is None
    for race in ("a", "b", "c"):
        assert await known.unknown(f"race:e:{race}")
    asked = registry.asked
    assert await known.unknown("race:e:c") and registry.asked == asked  # still cached
    assert await known.unknown("race:e:old") is None
    assert registry.asked == asked + 1  # was dropped


async def test_an_election_nobody_loaded_is_unknown_on_every_channel_of_it() -> None:
    """summary, turnout, races, region, race and unit channels of an election without a
    race index: `unknown_election`; of a loaded one not heard from: known (None)."""
    registry = MemoryElectionRegistry()
    await registry.put_regions("e", ["north"])
    await registry.put_races("e", ["r1"])
    known = KnownRaces(registry, MemoryViews())
    channels = ["summary:{}", "turnout:{}", "races:{}", "region:{}:north", "turnout:{}:north",
                "race:{}:r1", "unit:{}:r1:region.north"]  # fmt: skip
    for channel in channels:
        assert await known.unknown(channel.format("e")) is None, channel
        assert await known.unknown(channel.format("typo")) == UNKNOWN_ELECTION, channel
    assert await known.unknown("status:pipeline") is None
    assert await known.unknown("anomalies:typo") is None  # not judged


async def test_a_region_the_election_lacks_is_unknown_unless_it_has_a_view() -> None:
    """region:E:G and turnout:E:G of a region not in the registry: `unknown_region`; a
    channel with a view exists anyway (fail open, judged channel by channel); an index
    without region ids (an older writer's) cannot tell, so every region of it is known."""
    views, registry = MemoryViews(), MemoryElectionRegistry()
    await registry.put_regions("e", ["north"])
    await registry.put_races("e", ["r1"])
    await registry.put_races("old", ["r1"])
    await views.put_view("region:e:gone", 0, b"{}")
    known = KnownRaces(registry, views)
    assert await known.unknown("region:e:south") == UNKNOWN_REGION
    assert await known.unknown("turnout:e:south") == UNKNOWN_REGION
    assert await known.unknown("region:e:gone") is None
    assert await known.unknown("race:e:r9") == UNKNOWN_RACE
    assert await known.unknown("turnout:e:gone") == UNKNOWN_REGION  # no view of its own
    assert await known.unknown("region:old:anything") is None


async def test_an_election_whose_definition_went_keeps_the_channels_it_has_views_of() -> None:
    """A removed definition (no race index) whose views stay for audit: the channels
    with a view are served, the others are `unknown_election`."""
    views = MemoryViews()
    await views.put_view("summary:gone", 4, b"{}")
    known = KnownRaces(MemoryElectionRegistry(), views)
    assert await known.unknown("summary:gone") is None
    assert await known.unknown("races:gone") == UNKNOWN_ELECTION


async def test_a_channel_published_after_an_unknown_answer_is_known_at_once() -> None:
    """An unknown answer is cached, but a view written since (the opening of an
    election loaded meanwhile) makes the channel known on the next ask, without
    waiting for `unknown_ttl_s` nor asking the registry again."""
    views, registry, clock = MemoryViews(), CountingRegistry(), Clock()
    known = KnownRaces(registry, views, unknown_ttl_s=2.0, clock=clock)
    assert await known.unknown("race:e:r1") == UNKNOWN_ELECTION
    assert await known.unknown("summary:e") == UNKNOWN_ELECTION
    await views.put_view("summary:e", 0, b"{}")
    await views.put_view("race:e:r1", 0, b"{}")
    asked = registry.asked
    assert await known.unknown("summary:e") is None
    assert await known.unknown("unit:e:r1:region.x") is None and registry.asked == asked

