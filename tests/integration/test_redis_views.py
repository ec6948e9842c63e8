"""The Redis view store against a real Redis: what only Redis does (the atomic script, the
change record on the feed and pub/sub, trimming, the epoch after a wipe, the layout before
it); and the aggregate's coalescing writer on top of it. The contract both stores share is
tests/integration/test_view_store.py."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
import redis.asyncio as aioredis
from votewire.aggregate.flusher import ViewFlusher
from votewire.aggregate.metrics import Metrics
from votewire.infra.redis_views import BadChannel, RedisViews, StoredView, decode_change

from tests.support.polling import eventually
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.integration

CHANNEL = "race:tiny-2026:r1"


def doc(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    settings = settings_for(isolated_env("redis"))
    redis_client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await redis_client.ping()
    except aioredis.ConnectionError as exc:
        pytest.fail(f"Redis is not up at {settings.redis_url} (votewire stack up): {exc}")
    yield redis_client
    await redis_client.aclose()


@pytest.fixture
async def views(client: aioredis.Redis) -> AsyncIterator[RedisViews]:
    prefix = f"t{uuid.uuid4().hex[:8]}-views"
    yield RedisViews(client, prefix)
    async for key in client.scan_iter(match=f"{prefix}:*", count=5000):
        await client.delete(key)


async def test_concurrent_writers_in_any_order_keep_the_newest(views: RedisViews) -> None:
    """Shuffled, repeated, concurrent writes: the feed's versions strictly grow, the max wins."""
    rng = random.Random(5)
    versions = [v for v in range(1, 41) for _ in range(rng.randint(1, 3))]
    rng.shuffle(versions)
    seqs = await asyncio.gather(*(views.put_view(CHANNEL, v, doc(v)) for v in versions))
    written = sorted(s for s in seqs if s is not None)
    assert written == list(range(1, len(written) + 1))
    feed = await views.updates_since(CHANNEL, 0)
    assert feed is not None
    feed_versions = [change.version for change in feed]
    assert feed_versions == sorted(set(feed_versions))
    assert feed_versions[-1] == 40
    stored = await views.get_view(CHANNEL)
    assert stored is not None and stored.version == 40 and stored.seq == len(written)


async def test_put_views_is_the_same_conditional_write_pipelined(views: RedisViews) -> None:
    """A pipelined batch answers seq or None per item, exactly as put_view would."""
    await views.put_view("region:tiny-2026:north", 3, doc(3))
    replies = await views.put_views(
        [
            ("region:tiny-2026:north", 2, doc(2)),  # stale
            ("region:tiny-2026:north", 4, doc(4)),
            ("summary:tiny-2026", 1, doc(1)),
            ("summary:tiny-2026", 1, doc(1)),  # duplicate in the same batch
        ]
    )
    assert replies == [None, 2, 1, None]
    with pytest.raises(BadChannel):
        await views.put_views([("summary:tiny-2026", 9, doc(9)), ("no channel", 1, doc(1))])
    stored = await views.get_view("summary:tiny-2026")
    assert stored is not None and stored.version == 1  # nothing of the bad batch was sent


async def test_a_pipelined_batch_replaces_an_opening_by_the_same_rule(views: RedisViews) -> None:
    """Version 0 over version 0: written when the bytes differ, skipped when equal; the
    script decides per item, also within one batch."""
    await views.put_view(CHANNEL, 0, doc(0))
    replies = await views.put_views(
        [(CHANNEL, 0, doc(0)), (CHANNEL, 0, doc(100)), (CHANNEL, 0, doc(100)), (CHANNEL, 1, doc(1))]
    )
    assert replies == [None, 2, None, 3]
    assert await views.put_views([(CHANNEL, 0, doc(200))]) == [None]


async def test_flusher_writes_a_corrected_opening_over_the_first(views: RedisViews) -> None:
    """An opening offered again with other bytes, after the first was written, replaces it."""
    flusher = ViewFlusher(views, Metrics(), interval_s=0.01)
    flusher.start()
    try:
        flusher.offer(CHANNEL, 0, doc(0))
        await eventually(lambda: _holding(views, CHANNEL, doc(0)), 10, "the first opening")
        flusher.offer(CHANNEL, 0, doc(100))
        stored = await eventually(
            lambda: _holding(views, CHANNEL, doc(100)), 10, "the corrected opening"
        )
    finally:
        await flusher.stop()
    assert (stored.version, stored.seq) == (0, 2)


async def test_the_change_is_published_and_fed_as_the_same_record(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """The pub/sub message and the feed entry are the same bytes: the store's change
    record (channel, seq, epoch, version, then the doc as written), not a client frame."""
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(views.pubsub_channel(CHANNEL))
        await eventually(lambda: pubsub.get_message(timeout=0.1), 5, "subscription confirmation")
        await views.put_view(CHANNEL, 3, doc(3))
        message = await eventually(
            lambda: pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1),
            5,
            "the published change",
        )
    stored = await views.get_view(CHANNEL)
    assert stored is not None
    assert message["data"] == b"%s 1 %s 3\n%s" % (CHANNEL.encode(), stored.epoch.encode(), doc(3))
    assert decode_change(message["data"]) == stored
    entries = await client.xrange(views.feed_key(CHANNEL))
    assert entries == [(b"1-1", {b"change": message["data"]})]


async def test_messages_that_are_not_changes_are_skipped(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """Another writer's message on the change pattern is counted and dropped; the feed
    goes on with the next change."""
    async with views.changes() as changes:
        await client.publish(views.pubsub_channel(CHANNEL), b'{"type":"update"}')
        await client.publish(views.pubsub_channel(CHANNEL), b"race:x 1 e\n{}")
        await views.put_view(CHANNEL, 1, doc(1))
        change = await asyncio.wait_for(anext(aiter(changes)), 5)
    assert (change.channel, change.seq, change.doc) == (CHANNEL, 1, doc(1))
    assert views.undecodable == 2


async def test_feed_entries_of_the_older_layout_are_not_replayed(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """An entry written before the change record (field `msg`, a client frame) cannot be
    turned into a change: a resume across the upgrade gets None (a resync), not a guess."""
    await client.xadd(views.feed_key(CHANNEL), {"msg": b'{"type":"update"}'}, id="1-1")
    await client.hset(views.view_key(CHANNEL), mapping={"version": 1, "seq": 1, "doc": doc(1)})
    await views.put_view(CHANNEL, 2, doc(2))
    assert await views.updates_since(CHANNEL, 0) is None
    assert [v.seq for v in await views.updates_since(CHANNEL, 1) or []] == [2]


async def test_a_trimmed_feed_says_it_cannot_resume(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """When the entries after the client's seq were trimmed away, the answer is None (resync)."""
    for version in range(1, 11):
        await views.put_view(CHANNEL, version, doc(version))
    # What the put script's XADD MAXLEN ~ does in node-sized steps, done exactly here.
    await client.xtrim(views.feed_key(CHANNEL), maxlen=3, approximate=False)
    assert await views.updates_since(CHANNEL, 2) is None
    assert await views.updates_since(CHANNEL, 6) is None  # seq 7 is gone too
    assert [v.seq for v in await views.updates_since(CHANNEL, 7) or []] == [8, 9, 10]
    await client.delete(views.feed_key(CHANNEL))  # feed gone entirely, view still there
    assert await views.updates_since(CHANNEL, 4) is None
    assert await views.updates_since(CHANNEL, 10) == []


async def test_the_epoch_is_kept_and_renewed_only_when_redis_lost_it(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """The first write creates the epoch, later writes keep it; after a wipe a new one is made."""
    await views.put_view(CHANNEL, 1, doc(1))
    first = await views.get_view(CHANNEL)
    await views.put_view("summary:tiny-2026", 1, doc(1))
    same = await views.get_view("summary:tiny-2026")
    assert first is not None and same is not None and first.epoch == same.epoch
    async for key in client.scan_iter(match=f"{views.prefix}:*"):
        await client.delete(key)
    await views.put_view(CHANNEL, 1, doc(1))
    after = await views.get_view(CHANNEL)
    assert after is not None and after.seq == 1 and after.epoch != first.epoch


async def test_the_feed_is_capped_by_the_write_itself(
    views: RedisViews, client: aioredis.Redis
) -> None:
    """put_view trims the feed (approximately) to feed_maxlen; old seqs then need a resync."""
    capped = RedisViews(client, views.prefix, feed_maxlen=10)
    await capped.put_views([(CHANNEL, v, doc(v)) for v in range(1, 351)])
    assert await client.xlen(capped.feed_key(CHANNEL)) < 350
    assert await capped.updates_since(CHANNEL, 0) is None
    assert [v.seq for v in await capped.updates_since(CHANNEL, 347) or []] == [348, 349, 350]


async def test_flusher_writes_a_burst_a_few_times_not_fifty(views: RedisViews) -> None:
    """50 changes of one race within ~100 ms reach Redis as a few writes, the newest last."""
    metrics = Metrics()
    flusher = ViewFlusher(views, metrics, interval_s=0.05)
    flusher.start()
    try:
        for version in range(1, 51):
            flusher.offer(CHANNEL, version, doc(version))
            if version % 10 == 0:
                await asyncio.sleep(0.02)  # pacing the burst over ~100 ms, not waiting
        stored = await eventually(
            lambda: _at_version(views, CHANNEL, 50), 10, "the burst's newest view"
        )

        async def counted() -> bool:  # the flusher counts a write after Redis answered it
            return metrics.counters["views_written"] == stored.seq

        await eventually(counted, 5, f"{stored.seq} writes counted")
    finally:
        await flusher.stop()
    assert stored.doc == doc(50)
    assert 1 <= stored.seq <= 5, f"{stored.seq} writes for one burst"


async def test_flusher_keeps_views_through_a_redis_outage(views: RedisViews) -> None:
    """A failed flush keeps its views (unless superseded) and retries until Redis answers."""

    class FlakyWriter:
        def __init__(self) -> None:
            self.failures = 2

        async def put_views(self, items: Sequence[tuple[str, int, bytes]]) -> list[int | None]:
            if self.failures:
                self.failures -= 1
                raise aioredis.ConnectionError("redis went away")
            return await views.put_views(items)

    metrics = Metrics()
    flusher = ViewFlusher(FlakyWriter(), metrics, interval_s=0.01)
    flusher.start()
    try:
        flusher.offer(CHANNEL, 1, doc(1))
        flusher.offer("summary:tiny-2026", 4, doc(4))
        stored = await eventually(
            lambda: _at_version(views, "summary:tiny-2026", 4), 10, "views after the outage"
        )
        assert stored.doc == doc(4)
        assert await _at_version(views, CHANNEL, 1)
    finally:
        await flusher.stop()
    assert metrics.counters["flush_errors"] == 2


async def _at_version(views: RedisViews, channel: str, version: int) -> StoredView | None:
    stored = await views.get_view(channel)
    return stored if stored is not None and stored.version >= version else None


async def _holding(views: RedisViews, channel: str, body: bytes) -> StoredView | None:
    stored = await views.get_view(channel)
    return stored if stored is not None and stored.doc == body else None
