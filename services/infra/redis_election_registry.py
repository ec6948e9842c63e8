"""The election index (`infra.election_registry`) in Redis.

Layout (prefix P = VOTEWIRE_REDIS_PREFIX):

- `P:race-ids:E`  a set of election E's race ids (SISMEMBER: O(1));
- `P:region-ids:E` a set of its region ids (written before the race ids,
                  deleted with them; bounded by the regions, never precincts);
- `P:retired`     a hash election id -> its retirement record (JSON).

`put_races` replaces the set in one MULTI/EXEC (a reader sees the old set or
the new one, never a mix), adding members in chunks so no command grows
with the number of races beyond `CHUNK`. Reads raise `ViewsUnavailable`
when Redis fails (the live service answers that as it does for views);
writes let redis-py's errors through to the aggregate, which retries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from votewire.infra.views import ViewsUnavailable

CHUNK = 1000
"""Race ids per SADD."""


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ViewsUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


class RedisElectionRegistry:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def races_key(self, election_id: str) -> str:
        return f"{self.prefix}:race-ids:{election_id}"

    def regions_key(self, election_id: str) -> str:
        return f"{self.prefix}:region-ids:{election_id}"

    @property
    def retired_key(self) -> str:
        return f"{self.prefix}:retired"

    async def put_races(self, election_id: str, race_ids: Iterable[str]) -> None:
        await self._replace(self.races_key(election_id), race_ids)

    async def put_regions(self, election_id: str, region_ids: Iterable[str]) -> None:
        await self._replace(self.regions_key(election_id), region_ids)

    async def _replace(self, key: str, members: Iterable[str]) -> None:
        ids = sorted(set(members))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            for start in range(0, len(ids), CHUNK):
                pipe.sadd(key, *ids[start : start + CHUNK])
            await pipe.execute()

    async def drop_races(self, election_id: str) -> None:
        await self.client.delete(self.races_key(election_id), self.regions_key(election_id))

    async def has_race(self, election_id: str, race_id: str) -> bool | None:
        key = self.races_key(election_id)
        with _answering():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.sismember(key, race_id)
                pipe.exists(key)
                member, exists = await pipe.execute()
        return bool(member) if exists else None

    async def has_region(self, election_id: str, region_id: str) -> bool | None:
        key = self.regions_key(election_id)
        with _answering():
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.sismember(key, region_id)
                pipe.exists(key)
                pipe.exists(self.races_key(election_id))
                member, regions, races = await pipe.execute()
        if not races:
            return None
        return bool(member) if regions else True

    async def indexed(self, election_ids: Sequence[str]) -> set[str]:
        if not election_ids:
            return set()
        with _answering():
            async with self.client.pipeline(transaction=False) as pipe:
                for election_id in election_ids:
                    pipe.exists(self.races_key(election_id))
                found = await pipe.execute()
        return {e for e, there in zip(election_ids, found, strict=True) if there}

    async def retire(self, election_id: str, retirement: bytes) -> None:
        await self.client.hset(self.retired_key, election_id, retirement.decode())  # type: ignore[misc]

    async def unretire(self, election_id: str) -> None:
        await self.client.hdel(self.retired_key, election_id)  # type: ignore[misc]

    async def retired(self) -> set[str]:
        with _answering():
            found = await self.client.hkeys(self.retired_key)  # type: ignore[misc]
        return {key.decode() if isinstance(key, bytes) else str(key) for key in found}
