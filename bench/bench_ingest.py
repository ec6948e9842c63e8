"""Benchmark of the ingest path: reports per second, against a raw producer ceiling.

    python bench/bench_ingest.py [--reports N] [--runs R] [--concurrency C]

Needs the local stack (`votewire stack up`). Everything it writes is under a
fresh topic and Redis prefix, deleted at the end. Valid reports come from the
Kazakhstan 2021 scenario (`kz2021_scenario`: every precinct's six turnout
reports and its final result, cycled with new ids when N is larger). Each
run sends N reports with ids never used before (so nothing is a duplicate),
through:

- http x1:    POST /v1/reports, one report per request, C keep-alive
              connections each with one request in flight (a minimal asyncio
              HTTP/1.1 client: httpx's pool could not keep up);
- http x100:  batches of 100 (NDJSON), C/8 (at least 2) connections;
- http x500:  batches of 500, likewise;
- direct:     the importer's --direct path (`DirectTransport`: the service's
              intake pipeline in this process), batches of 500, one at a time
              as the importer sends them, connection set-up not timed;
- raw:        a bare aiokafka producer (acks=all, idempotent), every record
              sent at once, then all acknowledgements awaited: the ceiling.

The HTTP service is `votewire serve ingest` as a child process (open dev mode,
no rate limit), so client and server do not share an event loop. Prints the
median of R runs per path and its ratio to the raw ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from votewire.config import Settings
from votewire.core.codec import encode_definition
from votewire.core.keys import race_key
from votewire.core.scenario.kz2021 import kz2021_scenario
from votewire.infra.kafka_topics import ensure_topics, votewire_topics
from votewire.ingest.import_transports import DirectTransport
from votewire.launcher import start_services

Reports = list[dict[str, Any]]
NDJSON = "application/x-ndjson"


def scenario_reports(count: int, tag: str) -> tuple[dict[str, Any], Reports]:
    """The kz2021 definition and `count` valid reports with ids unique to `tag`."""
    scenario = kz2021_scenario()
    definition = scenario.definition
    base: Reports = []
    for p in scenario.protocols:
        place = {
            "election_id": definition.election_id,
            "race_id": p.race_id,
            "precinct_id": p.precinct_id,
        }
        for m, mark in enumerate(definition.turnout_marks):
            base.append(
                place
                | {
                    "kind": "turnout",
                    "mark": mark,
                    "ballots_cast": p.ballots_cast * (m + 1) // 6,
                    "reported_at": f"2021-07-25T{10 + 2 * m}:05:00+06:00",
                }
            )
        base.append(
            place
            | {
                "kind": "result",
                "registered": p.registered,
                "ballots_cast": p.ballots_cast,
                "votes": dict(p.votes),
                "against_all": p.against_all,
                "invalid": p.invalid,
                "reported_at": "2021-07-25T21:30:00+06:00",
            }
        )
    reports = [
        base[i % len(base)] | {"report_id": f"{tag}-{i}", "revision": 1 + i // len(base)}
        for i in range(count)
    ]
    return encode_definition(definition), reports


class Connection:
    """A minimal keep-alive HTTP/1.1 client connection. httpx's pool, not ingest, was
    the bottleneck beyond a few connections (7x slower at 64), so the bench uses this."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: ingest\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")
        )
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def via_http(port: int, reports: Reports, batch: int, in_flight: int) -> float:
    """POST `reports` in chunks of `batch` over `in_flight` keep-alive connections."""
    if batch == 1:
        bodies = [(json.dumps(r).encode(), "application/json") for r in reports]
    else:
        bodies = [
            ("\n".join(json.dumps(r) for r in reports[i : i + batch]).encode(), NDJSON)
            for i in range(0, len(reports), batch)
        ]
    queue = list(reversed(bodies))
    connections = [await Connection.open(port) for _ in range(min(in_flight, len(bodies)))]

    async def lane(connection: Connection) -> None:
        while queue:
            body, content_type = queue.pop()
            status, answer = await connection.post("/v1/reports", body, content_type)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")

    try:
        start = time.perf_counter()
        await asyncio.gather(*(lane(c) for c in connections))
        return len(reports) / (time.perf_counter() - start)
    finally:
        for connection in connections:
            await connection.close()


async def via_direct(settings: Settings, reports: Reports) -> float:
    transport = DirectTransport(settings)
    await transport.start()
    try:
        texts = [json.dumps(r) for r in reports]
        start = time.perf_counter()
        for i in range(0, len(texts), 500):
            results = await transport.send(texts[i : i + 500])
            if any(r["status"] != "accepted" for r in results):
                raise RuntimeError(f"direct: rejected {results[:3]}")
        return len(reports) / (time.perf_counter() - start)
    finally:
        await transport.close()


async def via_raw_producer(settings: Settings, reports: Reports) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=2
    )
    await producer.start()
    try:
        records = [
            (race_key(r["election_id"], r["race_id"]), json.dumps(r).encode()) for r in reports
        ]
        start = time.perf_counter()
        futures = [await producer.send(settings.reports_topic, v, key=k) for k, v in records]
        await asyncio.gather(*futures)
        return len(reports) / (time.perf_counter() - start)
    finally:
        await producer.stop()


async def cleanup(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([t.name for t in votewire_topics(settings)])
    finally:
        await admin.close()
    client = aioredis.Redis.from_url(settings.redis_url)
    keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000, help="reports per path per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=int, default=64, help="single-report requests in flight"
    )
    args = parser.parse_args()

    tag = f"bench{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        "VOTEWIRE_TOPIC_PREFIX": tag,
        "VOTEWIRE_REDIS_PREFIX": tag,
        "VOTEWIRE_INGEST_PORT": str(port),
        "VOTEWIRE_INGEST_RATE": "0",
        "VOTEWIRE_CREDENTIALS_FILE": "",
        "VOTEWIRE_LOG_LEVEL": "warning",
    }
    settings = Settings.from_env({**os.environ, **env})
    asyncio.run(ensure_topics(settings))
    log_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    procs = start_services(env, log_dir, names=("ingest",))
    url = f"http://127.0.0.1:{port}"
    try:
        definition, _ = scenario_reports(0, tag)
        put = httpx.put(
            f"{url}/v1/elections/{definition['election_id']}", json=definition, timeout=60
        )
        put.raise_for_status()
        batch_flight = max(2, args.concurrency // 8)
        paths: dict[str, Callable[[Reports], Awaitable[float]]] = {
            "http x1": lambda rs: via_http(port, rs, 1, args.concurrency),
            "http x100": lambda rs: via_http(port, rs, 100, batch_flight),
            "http x500": lambda rs: via_http(port, rs, 500, batch_flight),
            "direct (importer --direct)": lambda rs: via_direct(settings, rs),
            "raw aiokafka (ceiling)": lambda rs: via_raw_producer(settings, rs),
        }
        rates: dict[str, list[float]] = {name: [] for name in paths}
        for run in range(args.runs):
            for n, (name, path) in enumerate(paths.items()):
                _, reports = scenario_reports(args.reports, f"{tag}-{run}-{n}")
                rates[name].append(asyncio.run(path(reports)))
                print(
                    f"run {run + 1}/{args.runs} {name}: {rates[name][-1]:,.0f}/s", file=sys.stderr
                )
    finally:
        for proc in procs.values():
            proc.stop()
        asyncio.run(cleanup(settings))
    ceiling = statistics.median(rates["raw aiokafka (ceiling)"])
    print(
        f"\n{args.reports:,} reports per path, median of {args.runs} runs, "
        f"{os.cpu_count()} CPUs, Kafka at {settings.kafka_bootstrap}"
    )
    print(f"{'path':<28} {'reports/s':>10} {'of ceiling':>11}")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<28} {median:>10,.0f} {median / ceiling:>10.0%}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
