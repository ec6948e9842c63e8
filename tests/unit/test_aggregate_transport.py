"""The aggregate's faust transport: the configured fetch wait, and no record dropped
by faust's read-offset filter (services/aggregate/transport.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from votewire.aggregate.app import create_app
from votewire.config import Settings

TOPIC = "reports"


def app_for(tmp_path: Path, **env: str) -> faust.App:
    settings = Settings.from_env({"VOTEWIRE_STATE_DIR": str(tmp_path), **env})
    return create_app(settings)


async def test_the_worker_consumer_is_built_with_the_configured_fetch_wait(
    tmp_path: Path,
) -> None:
    app = app_for(tmp_path, VOTEWIRE_AGGREGATE_FETCH_WAIT_MS="25")
    thread = app.consumer._thread  # the faust consumer thread that owns aiokafka's consumer
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 25
    finally:
        await consumer.stop()  # never started: only marks it closed


class Stopper:
    """What `_drain_messages` needs of its fetcher: a stop flag."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()


def message(offset: int) -> Any:
    return faust.types.Message(
        topic=TOPIC,
        partition=0,
        offset=offset,
        timestamp=0.0,
        timestamp_type=0,
        headers=[],
        key=b"k",
        value=b"v",
        checksum=None,
        tp=TP(TOPIC, 0),
    )


async def drain_after_rebalance(
    consumer_class: type[faust_aiokafka.Consumer], app: faust.App
) -> tuple[list[int], Any]:
    """Run faust's fetch loop over what a takeover delivered in our kill drill:
    the seek set the read offset to the committed 436, a stale fetch brought 477-480,
    then the fetch from 436 brought 436-480. Return the offsets handed on, and the
    consumer's declared gaps."""
    delivered: list[int] = []

    async def callback(msg: Any) -> None:
        delivered.append(msg.offset)

    consumer = consumer_class(
        app.transport,
        callback=callback,
        on_partitions_revoked=None,
        on_partitions_assigned=None,
    )
    app.topics._acking_topics.add(TOPIC)  # the agents' source topics acknowledge
    tp = TP(TOPIC, 0)
    consumer._read_offset[tp] = 436  # what perform_seek sets
    consumer._committed_offset[tp] = 436
    fetcher = Stopper()
    batches = [[477, 478, 479, 480], list(range(436, 481))]

    async def getmany(**_: float) -> AsyncIterator[tuple[TP, Any]]:  # faust passes timeout=
        for offset in batches.pop(0):
            yield tp, message(offset)
        if not batches:
            fetcher._stopped.set()

    consumer.getmany = getmany
    try:
        await asyncio.wait_for(consumer._drain_messages(fetcher), 10)
    finally:
        consumer._thread.thread_loop.close()  # made for the consumer thread, never started
    return delivered, consumer._gap.get(tp)


async def test_every_record_reaches_the_agent_when_a_stale_fetch_overtakes_the_seek(
    tmp_path: Path,
) -> None:
    app = app_for(tmp_path)
    delivered, gaps = await drain_after_rebalance(app.transport.Consumer, app)
    assert sorted(set(delivered)) == list(range(436, 481))  # nothing dropped
    assert not gaps  # and nothing committed unseen


async def test_stock_faust_drops_those_records_and_counts_them_as_done(tmp_path: Path) -> None:
    """The bug the transport removes (if faust fixes it, the transport's filter can go)."""
    app = app_for(tmp_path)
    delivered, gaps = await drain_after_rebalance(faust_aiokafka.Consumer, app)
    assert not set(delivered) & set(range(436, 477))  # dropped as "already read"
    assert gaps is not None and gaps.overlaps(437, 477)  # and declared committable
