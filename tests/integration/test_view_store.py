"""The views store contract (votewire.infra.views), run against memory and the real Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import pytest
import redis.asyncio as aioredis
from votewire.infra.memory_views import MemoryViews
from votewire.infra.redis_views import RedisViews
from votewire.infra.views import BadChannel, StoredView, ViewsUnavailable
from votewire.live.view_store import ViewStore

from tests.support.polling import eventually
from tests.support.stack import free_port, settings_for

pytestmark = pytest.mark.integration

C = "race:tiny-2026:r1"
FEED_MAXLEN = 5


class Store(ViewStore, Protocol):
    async def put_view(self, channel: str, version: int, doc: bytes) -> int | None: ...
    async def put_rows(self, items: Sequence[tuple[str, str, bytes]]) -> None: ...


def doc(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryViews(FEED_MAXLEN)
        return
    client = aioredis.Redis.from_url(settings_for({}).redis_url)
    prefix = f"t{uuid.uuid4().hex[:8]}-store"
    try:
        yield RedisViews(client, prefix, feed_maxlen=FEED_MAXLEN)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def down(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A store that cannot answer: memory gone down, Redis at a port nobody listens on."""
    if request.param == "memory":
        views = MemoryViews()
        views.go_down()
        yield views
        return
    client = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1, socket_timeout=1
    )
    try:
        yield RedisViews(client, "t-down")
    finally:
        await client.aclose()


async def test_a_newer_version_is_stored_and_its_seq_grows_by_one(store: Store) -> None:
    """Versions may jump; seq counts accepted writes; the epoch is one for every channel."""
    assert await store.put_view(C, 1, doc(1)) == 1
    assert await store.put_view(C, 7, doc(7)) == 2
    assert await store.put_view("summary:tiny-2026", 3, doc(3)) == 1
    stored = await store.get_view(C)
    assert stored is not None
    assert (stored.channel, stored.version, stored.seq, stored.doc) == (C, 7, 2, doc(7))
    other = await store.get_view("summary:tiny-2026")
    assert other is not None and stored.epoch and other.epoch == stored.epoch


async def test_a_stale_or_repeated_write_changes_nothing(store: Store) -> None:
    """At or below the stored version: skipped (None), and neither view nor feed moves."""
    await store.put_view(C, 5, doc(5))
    assert await store.put_view(C, 5, b'{"other":true}') is None
    assert await store.put_view(C, 4, doc(4)) is None
    stored = await store.get_view(C)
    assert stored is not None and (stored.version, stored.seq, stored.doc) == (5, 1, doc(5))
    assert [v.seq for v in await store.updates_since(C, 0) or []] == [1]


async def test_an_opening_is_replaced_by_a_corrected_opening_and_fed(store: Store) -> None:
    """Version 0 over version 0 with other bytes: a write (seq + 1, in the feed, delivered);
    the same bytes again: skipped, nothing moves."""
    assert await store.put_view(C, 0, doc(0)) == 1
    async with store.changes() as changes:
        assert await store.put_view(C, 0, doc(100)) == 2
        seen = await asyncio.wait_for(anext(changes), 5)
    assert (seen.version, seen.seq, seen.doc) == (0, 2, doc(100))
    assert await store.put_view(C, 0, doc(100)) is None
    stored = await store.get_view(C)
    assert stored is not None and (stored.version, stored.seq, stored.doc) == (0, 2, doc(100))
    assert [(v.seq, v.doc) for v in await store.updates_since(C, 1) or []] == [(2, doc(100))]


async def test_an_opening_never_replaces_a_view_heard_from(store: Store) -> None:
    """A version >= 1 replaces an opening; an opening never replaces it back."""
    await store.put_view(C, 0, doc(0))
    assert await store.put_view(C, 1, doc(1)) == 2
    assert await store.put_view(C, 0, doc(100)) is None
    assert await store.put_views([(C, 0, doc(200))]) == [None]
    stored = await store.get_view(C)
    assert stored is not None and (stored.version, stored.seq, stored.doc) == (1, 2, doc(1))


async def test_nothing_published_reads_as_nothing(store: Store) -> None:
    """No view: get_view None, get_views leaves it out, the feed is empty, no channels."""
    assert await store.get_view(C) is None
    assert await store.get_views([C]) == {}
    assert await store.get_views([]) == {}
    assert await store.updates_since(C, 0) == []
    assert await store.channels("race:") == []


async def test_get_views_reads_those_that_exist(store: Store) -> None:
    """Several channels at once; absent ones are left out; each as get_view would read it."""
    await store.put_view(C, 2, doc(2))
    await store.put_view("region:tiny-2026:north", 4, doc(4))
    found = await store.get_views([C, "race:tiny-2026:none", "region:tiny-2026:north"])
    assert sorted(found) == [C, "region:tiny-2026:north"]
    assert found[C] == await store.get_view(C)


async def test_updates_since_gives_every_later_change_oldest_first(store: Store) -> None:
    """Each change is the view as written, at its seq; [] when up to date or ahead."""
    for version in range(1, 5):
        await store.put_view(C, version * 10, doc(version))
    missed = await store.updates_since(C, 1)
    assert missed is not None
    stored = await store.get_view(C)
    assert stored is not None
    assert missed == [StoredView(C, v * 10, v, stored.epoch, doc(v)) for v in (2, 3, 4)]
    assert missed[-1] == stored
    assert await store.updates_since(C, 4) == []
    assert await store.updates_since(C, 9) == []


async def test_a_feed_trimmed_past_the_seq_cannot_resume(store: Store) -> None:
    """The feed keeps at least the last `feed_maxlen` changes; older seqs answer None."""
    for version in range(1, 401):
        await store.put_view(C, version, doc(version))
    assert await store.updates_since(C, 0) is None
    assert await store.updates_since(C, 1) is None
    tail = await store.updates_since(C, 400 - FEED_MAXLEN)
    assert [v.seq for v in tail or []] == list(range(401 - FEED_MAXLEN, 401))


async def test_channels_lists_by_literal_prefix(store: Store) -> None:
    """Sorted names of channels with a view that start with the prefix, nothing else."""
    for channel in ["race:e.1:b", "race:e.1:a", "race:e-1:a", "summary:e.1", "race:ex1:a"]:
        await store.put_view(channel, 1, doc(1))
    assert await store.channels("race:e.1:") == ["race:e.1:a", "race:e.1:b"]
    assert await store.channels("summary:") == ["summary:e.1"]
    assert await store.channels("races:") == []


async def test_changes_deliver_each_accepted_write_in_seq_order(store: Store) -> None:
    """A subscriber gets every accepted write once, as stored; skipped writes send nothing."""
    got: list[StoredView] = []
    async with store.changes() as changes:

        async def collect() -> None:
            async for change in changes:
                got.append(change)

        task = asyncio.create_task(collect())
        try:
            await store.put_view(C, 1, doc(1))
            await store.put_view(C, 1, doc(9))  # skipped
            await store.put_view(C, 3, doc(3))
            await store.put_view("summary:tiny-2026", 1, doc(1))

            async def all_three() -> bool:
                return len(got) >= 3

            await eventually(all_three, 5, "three changes")
        finally:
            task.cancel()
    stored = await store.get_view(C)
    assert stored is not None
    assert [(v.channel, v.seq, v.version) for v in got] == [
        (C, 1, 1),
        (C, 2, 3),
        ("summary:tiny-2026", 1, 1),
    ]
    assert got[1] == stored


async def test_rows_replace_by_key_and_page_through_every_row(store: Store) -> None:
    """put_rows replaces a key's row; paging with the cursor returns every row (no
    order promised, a row may repeat: dedupe by key), ending with cursor 0."""
    await store.put_rows([("precincts:e:r", f"p{i}", b'{"i":%d}' % i) for i in range(25)])
    await store.put_rows([("precincts:e:r", "p3", b'{"i":99}')])
    seen: dict[bytes, None] = {}
    cursor = 0
    while True:
        cursor, page = await store.rows("precincts:e:r", cursor, 10)
        seen.update(dict.fromkeys(page))
        if cursor == 0:
            break
    assert len(seen) == 25 and b'{"i":99}' in seen and b'{"i":3}' not in seen
    assert await store.rows("precincts:e:other") == (0, [])


async def test_malformed_channels_are_refused(store: Store) -> None:
    """A name outside the grammar raises BadChannel, for a write and for a read."""
    for bad in ["no channel", "RACE:x", "race:" + "x" * 129, "race:a:b:c:d"]:
        with pytest.raises(BadChannel):
            await store.put_view(bad, 1, doc(1))
        with pytest.raises(BadChannel):
            await store.get_view(bad)
        with pytest.raises(BadChannel):
            await store.get_views([C, bad])
        with pytest.raises(BadChannel):
            await store.updates_since(bad, 0)


async def test_a_store_that_cannot_answer_says_so(down: Store) -> None:
    """Every read and the change feed raise ViewsUnavailable, never a guess."""
    with pytest.raises(ViewsUnavailable):
        await down.get_view(C)
    with pytest.raises(ViewsUnavailable):
        await down.get_views([C])
    with pytest.raises(ViewsUnavailable):
        await down.updates_since(C, 0)
    with pytest.raises(ViewsUnavailable):
        await down.channels("race:")
    with pytest.raises(ViewsUnavailable):
        async with down.changes():
            pass
