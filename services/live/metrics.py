"""The live service's Prometheus metrics, read from its context at scrape time.

Nothing on the fan-out path changes for metrics: the hub, sessions, pacer and
feed already keep plain counters; this collector turns them into metric
families when `/metrics` is read. Names (prefix `votewire_live_`):

- `connections`: websocket sessions open now; `subscriptions`, `channels`;
- `frames_sent_total{path}`: frames written to clients, by the sessions'
  writers (`path="writer"`) or straight to an idle socket (`path="direct"`);
- `updates_published_total`: updates handed to at least one subscriber;
  `updates_superseded_total`: updates replaced at the source by a newer one
  (pacing);
- `closes_total{reason}`: connections closed by the server, by close reason;
  `reason="slow"` counts slow clients (4008);
- `feed_connected`, `feed_connects_total`, `feed_messages_total`: the Redis change feed;
- `pipeline_stale` (1 while the aggregate's heartbeat is stale),
  `pipeline_workers` (aggregate workers beating), `heartbeat_age_seconds`
  (since the newest beat, by this machine's clock; absent before the first);
- the process collector's `process_*` (CPU, memory, open files).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

if TYPE_CHECKING:
    from votewire.live.context import LiveContext

PREFIX = "votewire_live_"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class LiveMetrics:
    def __init__(self, ctx: LiveContext) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(self)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        ctx, p = self.ctx, PREFIX
        yield GaugeMetricFamily(p + "connections", "Websocket sessions open.", ctx.sessions)
        yield GaugeMetricFamily(
            p + "subscriptions", "Channel subscriptions, all sessions.", ctx.hub.subscriptions()
        )
        yield GaugeMetricFamily(
            p + "channels", "Channels with a subscriber.", len(ctx.hub.channels())
        )
        frames = CounterMetricFamily(
            p + "frames_sent", "Frames written to clients.", labels=["path"]
        )
        frames.add_metric(["writer"], ctx.frames_sent)
        frames.add_metric(["direct"], ctx.hub.written_direct)
        yield frames
        yield CounterMetricFamily(
            p + "updates_published", "Updates handed to subscribers.", ctx.hub.published
        )
        yield CounterMetricFamily(
            p + "updates_superseded", "Updates replaced at the source.", ctx.pacer.superseded
        )
        closes = CounterMetricFamily(
            p + "closes", "Connections closed by the server.", labels=["reason"]
        )
        for reason, n in sorted(ctx.closes.items()):
            closes.add_metric([reason], n)
        yield closes
        feed = ctx.feed
        yield GaugeMetricFamily(p + "feed_connected", "1: the change feed runs.", feed.connected)
        yield CounterMetricFamily(p + "feed_connects", "Feed (re)connections.", feed.connects)
        yield CounterMetricFamily(p + "feed_messages", "Feed messages received.", feed.received)
        pipeline = ctx.pipeline.pipeline
        yield GaugeMetricFamily(
            p + "pipeline_stale", "1 while the aggregate heartbeat is stale.", ctx.pipeline.stale
        )
        yield GaugeMetricFamily(
            p + "pipeline_workers", "Aggregate workers beating.", pipeline.workers
        )
        if pipeline.last_beat_at is not None:
            yield GaugeMetricFamily(
                p + "heartbeat_age_seconds",
                "Since the newest aggregate heartbeat.",
                max(0.0, time.time() - pipeline.last_beat_at),
            )
