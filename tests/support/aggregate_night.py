"""Driving the aggregate from tests and benches: a night on Kafka, and the views it must give.

- `kz_night(faults)`: the kz-2021 definition and its night's *valid* reports in
  delivery order (malformed payloads, which ingest would reject, left out);
- `publish_definition` / `produce_reports`: put them on the isolated topics,
  keyed exactly like ingest (`<election_id>/<race_id>`, acks=all);
- `read_reports`: the reports topic as the aggregate consumes it;
- `expected_outputs`: every Redis document the aggregate must publish once it
  has folded those reports, computed by the pure engine (`ElectionTally`)
  in the topic's per-race order (versions count changes in that order);
- `redis_outputs` / `wait_for_outputs`: what Redis holds, and waiting until
  it holds exactly the expected documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from votewire.aggregate.channels import tally_outputs
from votewire.config import Settings
from votewire.core.codec import (
    decode_report_trusted,
    loads,
    report_to_bytes,
)
from votewire.core.definition_records import revision_name, revision_records
from votewire.core.definition_text import canonical_text
from votewire.core.keys import race_key
from votewire.core.models import ElectionDefinition, Report
from votewire.core.publication import opening_publications
from votewire.core.scenario import FaultRates, kz2021_definition, simulate_night
from votewire.core.tally import ElectionTally
from votewire.infra.kafka_topics import ensure_topics
from votewire.infra.redis_views import RedisViews
from votewire.infra.topic_log import KafkaLog
from votewire.launcher import ServiceProcess

from tests.support.polling import eventually
from tests.support.stack import free_port

Outputs = dict[str, tuple[int, bytes]]


def kz_night(faults: FaultRates, seed: int = 2021) -> tuple[ElectionDefinition, list[Report]]:
    definition = kz2021_definition(seed)
    night = simulate_night(definition, seed=seed, faults=faults)
    return definition, [e.payload for e in night if not isinstance(e.payload, dict)]


def report_key(report: Report) -> bytes:
    return race_key(report.election_id, report.race_id)


async def publish_definition(settings: Settings, definition: ElectionDefinition) -> None:
    """Publish `definition` as ingest does: a revision's parts, then its header
    (`core.definition_records`), so a national definition fits in bounded records."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        text = canonical_text(definition)
        revision = revision_name(text, int(time.time() * 1000))
        parts, header = revision_records(definition, text, revision)
        for record in [*parts, header]:
            await producer.send_and_wait(
                settings.definitions_topic, record.value, key=record.key, partition=0
            )
    finally:
        await producer.stop()


async def produce_reports(settings: Settings, reports: Sequence[Report], chunk: int = 1000) -> None:
    """Send `reports` in order (per race order is kept), waiting for every ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )
    await producer.start()
    try:
        for start in range(0, len(reports), chunk):
            futures = [
                await producer.send(settings.reports_topic, report_to_bytes(r), key=report_key(r))
                for r in reports[start : start + chunk]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_reports(settings: Settings) -> list[Report]:
    """Every report on the topic, each partition in order (the aggregate's fold order)."""
    async with KafkaLog(settings.kafka_bootstrap) as log:
        bounds = await log.bounds(settings.reports_topic)
        return [
            decode_report_trusted(loads(r.value or b""))
            async for r in log.read(settings.reports_topic, bounds)
        ]


def tally_of(definition: ElectionDefinition, reports: Iterable[Report]) -> ElectionTally:
    tally = ElectionTally(definition)
    for report in reports:
        tally.apply(report)
    return tally


def expected_outputs(tally: ElectionTally, *, opening: bool = False) -> Outputs:
    """Every document the aggregate's stages publish for the tally's reports, by channel;
    with `opening`, under them the election's opening (what the aggregate writes when it
    learns the definition: zero-count views of the regions never heard from stay)."""
    found: Outputs = {}
    if opening:
        found = {p.channel: (p.version, p.doc) for p in opening_publications(tally.definition)}
    return found | {o.channel: (o.version, o.doc) for o in tally_outputs(tally)}


async def redis_outputs(settings: Settings, channels: Iterable[str]) -> Outputs:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        views = RedisViews(client, settings.redis_prefix)
        found: Outputs = {}
        for channel in channels:
            stored = await views.get_view(channel)
            if stored is not None:
                found[channel] = (stored.version, stored.doc)
        return found
    finally:
        await client.aclose()


def diff(expected: Outputs, found: Outputs) -> list[str]:
    """Channels whose stored document differs from the expected one (sorted)."""
    return sorted(c for c in expected.keys() | found.keys() if expected.get(c) != found.get(c))


async def wait_for_outputs(
    settings: Settings, expected: Outputs, deadline_s: float, what: str
) -> Outputs:
    """Wait until Redis holds exactly `expected`; fail naming the channels that differ."""
    last: list[str] = []
    seen: Outputs = {}

    async def probe() -> Outputs | None:
        found = await redis_outputs(settings, expected)
        last[:] = diff(expected, found)
        seen.clear()
        seen.update(found)
        return found if not last else None

    try:
        return await eventually(probe, deadline_s, what)
    except AssertionError:
        versions = [
            f"{c} (expected {expected.get(c, (None,))[0]}, found {seen.get(c, (None,))[0]})"
            for c in last[:8]
        ]
        raise AssertionError(f"{what}: {len(last)} channels differ, e.g. {versions}") from None


async def delete_redis_prefix(settings: Settings) -> int:
    """Delete every key of the deployment's Redis prefix (a wiped Redis); return how many."""
    client = aioredis.Redis.from_url(settings.redis_url)
    deleted = 0
    try:
        async for key in client.scan_iter(match=f"{settings.redis_prefix}:*", count=5000):
            deleted += await client.delete(key)
    finally:
        await client.aclose()
    return deleted


async def read_json(url: str) -> Any:
    """GET `url` and parse it (None if it does not answer)."""
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(url)).json()
    return None


def start_worker(
    env: dict[str, str], logs: Path, workers: list[ServiceProcess], name: str, **extra: str
) -> ServiceProcess:
    """An aggregate worker of `env` on a free port (plus `extra` settings), appended to
    `workers` (which the caller stops), once healthy."""
    worker = ServiceProcess(
        "aggregate",
        {**env, **extra, "VOTEWIRE_AGGREGATE_PORT": str(free_port())},
        logs / f"{name}.log",
    )
    workers.append(worker)
    worker.start()
    worker.wait_healthy(90)
    return worker


def stats_url(worker: ServiceProcess) -> str:
    return f"http://127.0.0.1:{worker.env['VOTEWIRE_AGGREGATE_PORT']}/stats"


async def counter(worker: ServiceProcess, name: str) -> int:
    """One of the worker's /stats counters (0 while it does not answer)."""
    found = await read_json(stats_url(worker))
    return int(found["counters"].get(name, 0)) if found else 0
