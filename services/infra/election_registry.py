"""What readers may know of the elections without their definitions: the port and a
memory adapter (`redis_election_registry.RedisElectionRegistry` is the production one).

The live service holds no definitions, yet must tell a race that exists but
was not heard from (an empty snapshot) from one that no loaded election has
(`unknown_channel`), and must leave retired elections out of its listing.
The aggregate, which follows the definitions topic, keeps this index for it:

- per election, the set of its race ids (replaced whole when a definition
  is learnt or replaced; dropped when the definition is removed): one
  membership check per question, whatever the number of races; an election
  with no race set is one no loaded definition has (`unknown_election`);
- per election, the set of its region ids, beside the race ids (written
  before them, dropped with them): so live tells a region the election
  lacks. An index written before region ids were kept has races but no
  regions: `has_region` then answers True (it cannot know; fail open);
- the retired elections, each with its retirement (`core.retirement`).

Both are derived from the definitions topic: any writer can rewrite them at
any time from its catalog (the aggregate does after every change and when it
finds an index missing), so losing them loses nothing. One contract suite
runs against both adapters (tests/integration/test_election_registry.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class ElectionRegistry(Protocol):
    async def put_races(self, election_id: str, race_ids: Iterable[str]) -> None:
        """The election's races are exactly `race_ids` from now on."""
        ...

    async def drop_races(self, election_id: str) -> None:
        """The election has no definition any more."""
        ...

    async def has_race(self, election_id: str, race_id: str) -> bool | None:
        """Whether the election has the race; None if the election has no index."""
        ...

    async def put_regions(self, election_id: str, region_ids: Iterable[str]) -> None:
        """The election's regions are exactly `region_ids` from now on."""
        ...

    async def has_region(self, election_id: str, region_id: str) -> bool | None:
        """Whether the election has the region; None if the election has no race index;
        True if it has one but no region ids (an index of an older writer)."""
        ...

    async def indexed(self, election_ids: Sequence[str]) -> set[str]:
        """Those of `election_ids` whose race index is there."""
        ...

    async def retire(self, election_id: str, retirement: bytes) -> None:
        """Mark the election retired (`retirement`: its record, JSON)."""
        ...

    async def unretire(self, election_id: str) -> None: ...

    async def retired(self) -> set[str]:
        """Every retired election."""
        ...


class MemoryElectionRegistry:
    """`ElectionRegistry` in a dict (unit tests, single-process tools)."""

    def __init__(self) -> None:
        self.races: dict[str, frozenset[str]] = {}
        self.regions: dict[str, frozenset[str]] = {}
        self.retirements: dict[str, bytes] = {}

    async def put_races(self, election_id: str, race_ids: Iterable[str]) -> None:
        self.races[election_id] = frozenset(race_ids)

    async def drop_races(self, election_id: str) -> None:
        self.races.pop(election_id, None)
        self.regions.pop(election_id, None)

    async def has_race(self, election_id: str, race_id: str) -> bool | None:
        found = self.races.get(election_id)
        return None if found is None else race_id in found

    async def put_regions(self, election_id: str, region_ids: Iterable[str]) -> None:
        self.regions[election_id] = frozenset(region_ids)

    async def has_region(self, election_id: str, region_id: str) -> bool | None:
        if election_id not in self.races:
            return None
        found = self.regions.get(election_id)
        return True if found is None else region_id in found

    async def indexed(self, election_ids: Sequence[str]) -> set[str]:
        return {e for e in election_ids if e in self.races}

    async def retire(self, election_id: str, retirement: bytes) -> None:
        self.retirements[election_id] = retirement

    async def unretire(self, election_id: str) -> None:
        self.retirements.pop(election_id, None)

    async def retired(self) -> set[str]:
        return set(self.retirements)
