"""Test access to the live service: an in-process server, websocket helpers, real views.

`serve_live` runs `create_app` under uvicorn on a free port in the test's
event loop (the same websocket implementation as `votewire serve live`).
`ElectionViews` folds reports with the domain core and publishes every
channel the aggregate would (via its own channel builders), so REST, CSV
and dashboard tests see real documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from votewire.aggregate.channels import (
    RacePages,
    national_outputs,
    page_outputs,
    race_channel,
    region_outputs,
)
from votewire.config import Settings
from votewire.core.channels import unit_channel
from votewire.core.codec import decode_definition, decode_report_trusted, dumps
from votewire.core.models import ElectionDefinition, Report
from votewire.core.precinct_rows import precincts_table
from votewire.core.race_pages import group_of, groups
from votewire.core.race_state import RaceState
from votewire.core.rollup import NationalRollup, RegionRollup
from votewire.infra.redis_election_registry import RedisElectionRegistry
from votewire.infra.redis_views import RedisViews
from votewire.live.app import create_app
from votewire.live.limits import LiveLimits
from websockets.asyncio.client import ClientConnection

from tests.support.polling import eventually
from tests.support.stack import free_port


@dataclass
class LiveServer:
    app: Starlette
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/live"


@contextlib.asynccontextmanager
async def serve_live(
    settings: Settings, limits: LiveLimits | None = None, port: int | None = None
) -> AsyncIterator[LiveServer]:
    """The live app served on 127.0.0.1 until the block ends."""
    port = port or free_port()
    app = create_app(settings, limits)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raise what stopped it
        return server.started

    await eventually(started, 30, "the live app to start")
    try:
        yield LiveServer(app, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def drop_prefix(client: aioredis.Redis, prefix: str) -> None:
    """Delete every key a test wrote under its isolated prefix."""
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=5000)]
    for start in range(0, len(keys), 1000):
        await client.delete(*keys[start : start + 1000])


def with_live(settings: Settings, **fields: Any) -> Settings:
    return dataclasses.replace(settings, **fields)


async def recv_json(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next frame as JSON; fails after `timeout_s`."""
    raw = await asyncio.wait_for(ws.recv(), timeout_s)
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def recv_until(
    ws: ClientConnection, kind: str, timeout_s: float = 5.0, skip: tuple[str, ...] = ("ping",)
) -> dict[str, Any]:
    """The next frame of type `kind`, skipping heartbeats; fails on anything else."""
    while True:
        frame = await recv_json(ws, timeout_s)
        if frame["type"] in skip and frame["type"] != kind:
            continue
        assert frame["type"] == kind, frame
        return frame


async def send_json(ws: ClientConnection, **frame: Any) -> None:
    await ws.send(json.dumps(frame))


class ElectionViews:
    """An election folded in memory, published to Redis the way the aggregate does."""

    def __init__(self, views: RedisViews, definition: dict[str, Any] | ElectionDefinition) -> None:
        self.views = views
        self.definition = (
            definition
            if isinstance(definition, ElectionDefinition)
            else decode_definition(definition)
        )
        self.races = {
            r.race_id: RaceState(self.definition, r.race_id) for r in self.definition.races
        }
        self.regions = {
            g.region_id: RegionRollup(self.definition, g.region_id) for g in self.definition.regions
        }
        self.nation = NationalRollup(self.definition)
        self.pages = {g: RacePages(self.definition, g) for g in groups(self.definition)}
        self.registered = False

    async def register(self) -> None:
        """Write the election's race ids to the election registry, as the aggregate does
        when it learns the definition (live then knows its silent races)."""
        registry = RedisElectionRegistry(self.views.client, self.views.prefix)
        await registry.put_regions(
            self.definition.election_id, (g.region_id for g in self.definition.regions)
        )
        await registry.put_races(
            self.definition.election_id, (r.race_id for r in self.definition.races)
        )
        self.registered = True

    async def apply(self, *reports: dict[str, Any] | Report) -> None:
        """Fold `reports` and publish every channel they change (plus the rollups); the
        first call registers the election's races too (`register`)."""
        if not self.registered:
            await self.register()
        touched: set[str] = set()
        pages: set[tuple[str, int]] = set()
        outputs: list[tuple[str, int, bytes]] = []
        for obj in reports:
            report = decode_report_trusted(obj) if isinstance(obj, dict) else obj
            state = self.races[report.race_id]
            if state.apply(report).changed:
                if state.race.region_id is not None:  # a spanning race is not rolled up
                    touched.add(state.race.region_id)
                group = group_of(state.race)
                pages.add((group, self.pages[group].put(state.view())))
                e = self.definition.election_id
                outputs.append((race_channel(e, state.race_id), state.version, dumps(state.view())))
                for unit in state.unit_views():
                    channel = unit_channel(e, state.race_id, unit["level"], unit["unit_id"])
                    outputs.append((channel, unit["version"], dumps(unit)))
                table = precincts_table(e, state.race_id)
                rows = [(table, pid, dumps(row)) for pid, row in state.precinct_rows()]
                await self.views.put_rows(rows)
        for region_id in touched:
            rollup = self.regions[region_id]
            for race in self.definition.races_in(region_id):
                rollup.put(self.races[race.race_id].view())
            self.nation.put(rollup.view())
            outputs.extend(region_outputs(rollup.view()))
        for group, page in sorted(pages):
            outputs.extend(page_outputs(self.pages[group], [page]))
        if touched:
            outputs.extend(national_outputs(self.definition, self.nation.view()))
        for channel, version, doc in outputs:
            await self.views.put_view(channel, version, doc)


@contextlib.asynccontextmanager
async def redis_for(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A client of the stack's Redis; the settings' prefix is dropped at the end."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError) as exc:
        raise AssertionError(f"Redis not reachable ({exc}); run `votewire stack up`") from None
    try:
        yield client
    finally:
        await drop_prefix(client, settings.redis_prefix)
        await client.aclose()


async def register_races(views: RedisViews, election_id: str, *race_ids: str) -> None:
    """Make the races known to live (the election registry), as if the aggregate had
    learnt a definition with them."""
    await RedisElectionRegistry(views.client, views.prefix).put_races(election_id, race_ids)


def doc(n: int, pad: int = 0) -> bytes:
    """A small view document numbered `n` (with Kazakh text, and `pad` bytes of filler)."""
    return json.dumps({"n": n, "name": "Ақсу ауылы", "pad": "x" * pad}).encode()


async def write(views: RedisViews, channel: str, first: int, last: int, pad: int = 0) -> None:
    """Write versions `first`..`last` of `channel`, each accepted."""
    for version in range(first, last + 1):
        assert await views.put_view(channel, version, doc(version, pad)) is not None


async def write_steadily(
    views: RedisViews,
    channel: str,
    n: int,
    pad: int,
    written_at: dict[int, float],
    every_s: float = 0.02,
) -> None:
    """Versions 1..n of `channel`, one every `every_s`; `written_at` gets their times."""
    for version in range(1, n + 1):
        written_at[version] = time.monotonic()
        await views.put_view(channel, version, doc(version, pad))
        await asyncio.sleep(every_s)  # the steady write rate under test, not a wait


async def subscribe(ws: ClientConnection, channel: str, **resume: Any) -> dict[str, Any]:
    """Subscribe (resuming from `resume`, if given) and return the answer."""
    frame: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if resume:
        frame["resume"] = resume
    await ws.send(json.dumps(frame))
    return await recv_json(ws)


async def health(live: LiveServer) -> dict[str, Any]:
    """The live server's /healthz document."""
    async with httpx.AsyncClient() as http:
        found: dict[str, Any] = (await http.get(f"{live.http}/healthz")).json()
        return found
