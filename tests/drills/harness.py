"""Fault drills: a whole pipeline on a stack of the drill's own, a night at a steady rate.

A drill owns its Kafka (1 or 3 brokers) and its Redis, on free ports with a
private state dir, so it may kill them without touching the shared stack the
other tests use. It starts ingest, aggregate and live as processes, sends the
simulated kz-2021 night through the ingest API at a steady rate while
websocket clients watch the national summary, breaks something on purpose,
and ends by comparing the final Redis views with the pure engine's fold of
everything ingest acknowledged. `DrillReport.print()` says what happened:
reports acknowledged, counted, lost, doubled, and the recovery time.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import websockets
from votewire.config import REPO_ROOT, Settings
from votewire.core.codec import dumps, encode_definition
from votewire.core.models import ElectionDefinition
from votewire.core.scenario.faults import FaultRates
from votewire.core.scenario.kz2021 import kz2021_definition
from votewire.core.scenario.night import simulate_night
from votewire.core.scenario.timeline import Emitted
from votewire.core.tally import ElectionTally
from votewire.core.validation import Accepted, validate_report
from votewire.launcher import ServiceProcess

from tests.support.stack import free_port, isolated_env

SEED = 2021
_STACK = runpy.run_path(str(REPO_ROOT / "deploy" / "stack.py"), run_name="votewire_drill")


class DrillStack:
    """Kafka and Redis of the drill's own (see module doc)."""

    def __init__(self, state_dir: Path, brokers: int = 1) -> None:
        self.brokers = brokers
        self.env = {
            **isolated_env("drill"),
            "VOTEWIRE_STATE_DIR": str(state_dir),
            "VOTEWIRE_KAFKA_BOOTSTRAP": "",
            "VOTEWIRE_REDIS_URL": "",
            "VOTEWIRE_KAFKA_PORT": str(free_port()),
            "VOTEWIRE_KAFKA_CONTROLLER_PORT": str(free_port()),
            "VOTEWIRE_REDIS_PORT": str(free_port()),
            "VOTEWIRE_INGEST_RATE": "0",
            "VOTEWIRE_INGEST_PRODUCE_TIMEOUT_MS": "3000",
        }
        if brokers == 3:
            # Nodes 2 and 3 listen 100 and 200 above node 1: pick a base with room.
            base = 20000 + (os.getpid() % 200) * 100 + 50
            self.env["VOTEWIRE_KAFKA_PORT"] = str(base)
            self.env["VOTEWIRE_KAFKA_CONTROLLER_PORT"] = str(base + 1)
        self.settings = Settings.from_env({**os.environ, **self.env})
        self.kafka = _STACK["KafkaCluster"](self.settings, brokers)
        self.redis = _STACK["RedisServer"](self.settings)

    def up(self) -> None:
        self.redis.up()
        self.kafka.up()

    def down(self) -> None:
        self.kafka.down()
        self.redis.down()


@dataclass
class Feeder:
    """Sends the night at a steady rate; remembers what ingest acknowledged."""

    url: str
    night: list[Emitted]
    rate: float
    batch: int = 20
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    """When each request of `latencies` was sent (monotonic), same order."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (e.g. Authorization when ingest has credentials)."""
    errors: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=15.0) as client:
            for i in range(0, len(self.night), self.batch):
                due = start + i / self.rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await self._send(client, [e.wire() for e in self.night[i : i + self.batch]])
        self.done.set()

    async def _send(self, client: httpx.AsyncClient, body: list[dict[str, Any]]) -> None:
        while True:  # a batch is retried whole: ingest makes retries idempotent
            sent = time.monotonic()
            try:
                response = await client.post(
                    self.url,
                    content=dumps(body),
                    headers={"Content-Type": "application/json", **self.headers},
                )
            except httpx.HTTPError:
                self.errors += 1
                await asyncio.sleep(0.2)  # deadline-poll: the service is restarting
                continue
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code in (503, 429):
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            self.latencies.append(time.monotonic() - sent)
            self.sent_at.append(sent)
            if response.status_code >= 500:
                raise AssertionError(f"ingest answered {response.status_code}: {response.text}")
            by_id = {p.get("report_id"): p for p in body if isinstance(p, dict)}
            for result in response.json()["results"]:
                if result["status"] == "accepted":
                    self.acknowledged[result["report_id"]] = by_id[result["report_id"]]
            return


@dataclass
class Watcher:
    """One websocket client on the summary; reconnects and resumes on its own."""

    urls: list[str]
    channel: str
    seq: int = 0
    epoch: str | None = None
    view: dict[str, Any] | None = None
    reconnects: int = 0
    resyncs: int = 0
    backwards: int = 0
    last_error: str = ""

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                async with websockets.connect(url, open_timeout=5) as ws:
                    frame: dict[str, Any] = {"type": "subscribe", "channel": self.channel}
                    if self.epoch is not None:
                        frame["resume"] = {"seq": self.seq, "epoch": self.epoch}
                    await ws.send(json.dumps(frame))
                    await self._listen(ws, stop)
            except (OSError, websockets.WebSocketException) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            if not stop.is_set():
                self.reconnects += 1
                await asyncio.sleep(0.1)  # deadline-poll: back off before reconnecting

    async def _listen(self, ws: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            msg = json.loads(raw)
            if msg.get("type") == "ping":  # the server's heartbeat: answer or be dropped
                await ws.send('{"type":"pong"}')
                continue
            if msg.get("type") not in ("snapshot", "update"):
                continue
            if msg.get("resync") or msg.get("epoch") != self.epoch:
                self.resyncs += msg.get("resync", False)
                self.epoch, self.seq = msg["epoch"], 0
            if msg["seq"] < self.seq:
                self.backwards += 1
            self.seq = max(self.seq, msg["seq"])
            self.view = msg["view"]


def kz_night(faults: float = 0.02) -> tuple[ElectionDefinition, list[Emitted]]:
    definition = kz2021_definition(SEED)
    return definition, simulate_night(definition, seed=SEED, faults=FaultRates.uniform(faults))


def expected_tally(definition: ElectionDefinition, acknowledged: dict[str, Any]) -> ElectionTally:
    """The pure engine's fold of everything ingest acknowledged."""
    tally = ElectionTally(definition)
    for payload in acknowledged.values():
        verdict = validate_report(payload, definition)
        assert isinstance(verdict, Accepted), verdict
        tally.apply(verdict.report)
    return tally


def comparable(view: dict[str, Any]) -> dict[str, Any]:
    """A view without its version (which counts arrivals, not figures)."""
    return {k: v for k, v in view.items() if k != "version"}


async def differences(
    settings: Settings, definition: ElectionDefinition, tally: ElectionTally
) -> list[str]:
    """Channels whose Redis view differs from the fold (empty: identical)."""
    client = aioredis.Redis.from_url(settings.redis_url)
    e = definition.election_id
    wanted = {f"race:{e}:{r.race_id}": tally.race_view(r.race_id) for r in definition.races}
    wanted |= {
        f"region:{e}:{g.region_id}": tally.region_view(g.region_id) for g in definition.regions
    }
    wanted[f"summary:{e}"] = tally.national_view()
    try:
        async with client.pipeline(transaction=False) as pipe:
            for channel in wanted:
                pipe.hget(f"{settings.redis_prefix}:view:{channel}", "doc")
            docs = await pipe.execute()
    finally:
        await client.aclose()
    return [
        channel
        for (channel, view), doc in zip(wanted.items(), docs, strict=True)
        if doc is None or comparable(json.loads(doc)) != comparable(json.loads(dumps(view)))
    ]


async def converge(
    settings: Settings, definition: ElectionDefinition, tally: ElectionTally, deadline_s: float
) -> float:
    """Seconds until Redis equals the fold; raises naming the differing channels."""
    start = time.monotonic()
    diff: list[str] = []
    while time.monotonic() - start < deadline_s:
        diff = await differences(settings, definition, tally)
        if not diff:
            return time.monotonic() - start
        await asyncio.sleep(0.25)  # deadline-poll
    detail = await explain(settings, diff[0], tally) if diff else ""
    raise AssertionError(
        f"views differ from the fold after {deadline_s:.0f}s: {len(diff)} channels, "
        f"e.g. {diff[:5]}; {detail}"
    )


async def explain(settings: Settings, channel: str, tally: ElectionTally) -> str:
    """Which fields of `channel` differ between Redis and the fold."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        raw = await client.hget(f"{settings.redis_prefix}:view:{channel}", "doc")
    finally:
        await client.aclose()
    kind, member = channel.split(":", 1)[0], channel.rsplit(":", 1)[-1]
    if kind == "race":
        want: Any = tally.race_view(member)
    elif kind == "region":
        want = tally.region_view(member)
    else:
        want = tally.national_view()
    if raw is None:
        return f"{channel} missing in Redis"
    got, expected = json.loads(raw), json.loads(dumps(want))
    fields = [k for k in expected if k != "version" and got.get(k) != expected.get(k)]
    shown = [(k, got.get(k), expected.get(k)) for k in fields[:2]]
    return f"{channel}: differing fields {fields}; (field, redis, fold): {shown}"


async def put_definition(
    ingest: str, definition: ElectionDefinition, headers: dict[str, str] | None = None
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.put(
            f"{ingest}/v1/elections/{definition.election_id}",
            json=encode_definition(definition),
            headers=headers,
        )
        assert response.status_code == 200, response.text


@dataclass
class DrillReport:
    name: str
    did: str
    acknowledged: int = 0
    counted: int = 0
    lost: int = 0
    doubled: int = 0
    recovery_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def print(self) -> None:
        print(f"\n[drill] {self.name}: {self.did}")
        print(
            f"[drill]   reports acknowledged {self.acknowledged}, counted {self.counted}, "
            f"lost {self.lost}, doubled {self.doubled}; recovery {self.recovery_s:.1f} s"
        )
        for key, value in self.extra.items():
            print(f"[drill]   {key}: {value}")


def service(name: str, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    return ServiceProcess(name, env, log_dir / f"{name}-{env.get('VOTEWIRE_LIVE_PORT')}.log")


async def topic_report_ids(settings: Settings) -> list[str]:
    """Every report_id on the reports topic, in log order (duplicates kept)."""
    from votewire.infra.topic_log import KafkaLog

    async with KafkaLog(settings.kafka_bootstrap) as log:
        records = await log.read_all(settings.reports_topic)
    return [json.loads(record.value or b"{}").get("report_id", "") for record in records]
