"""The aggregate's heartbeat in Redis: the one place its key and format live.

Layout (prefix P = VOTEWIRE_REDIS_PREFIX): `P:heartbeat:aggregate`, a hash;
field = worker id ("host:pid"), value = a `Beat` as compact JSON
`{"worker", "at", "status", "pending", "owned", "of"}`.

Writers (services/aggregate/heartbeat.py): every aggregate worker rewrites its
own field every VOTEWIRE_HEARTBEAT_INTERVAL_MS with its health verdict and
how many of the input partitions it owns, and deletes it when it stops
cleanly. A killed worker's field stays behind; any worker deletes fields that
have not been rewritten for `FORGET_AFTER_S` (hygiene only: readers already
ignore them), and the whole hash expires that long after the last beat.

Readers (live, ingest) judge freshness with `Freshness`: a field is *fresh*
while its value keeps changing, measured on the reader's own monotonic clock,
so clocks of different machines are never compared to decide (the `at` time
is only shown, and used once, on first sight, to age a field already old).
The pipeline is "live" when the fresh workers all say "ok" and together own
every input partition: a silent worker matters exactly until its partitions
have been taken over.

`MemoryHeartbeats` and `RedisHeartbeats` are the two implementations of
`HeartbeatStore`; one contract suite runs on both
(tests/integration/test_heartbeat_store.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

KEY_SUFFIX = "heartbeat:aggregate"
FORGET_AFTER_S = 300.0
"""A field not rewritten for this long (writer's clock) is deleted by any worker."""


def heartbeat_key(prefix: str) -> str:
    return f"{prefix}:{KEY_SUFFIX}"


@dataclass(frozen=True, slots=True)
class Beat:
    """One worker's heartbeat. `at` and `rebalanced_at` are Unix times of the writer."""

    worker: str
    at: float
    status: str
    """The worker's health verdict: "ok", "starting", "recovering", "stalled", ..."""
    pending: int = 0
    """Records waiting on its partitions (consumer lag), when known."""
    owned: int = 0
    """Input partitions assigned to it (all stages' topics together)..."""
    of: int = 0
    """...out of this many: every worker of the group should own them together."""

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Beat:
        """The beat in `raw`; ValueError if it is not one."""
        try:
            obj = json.loads(raw)
            return cls(
                worker=str(obj["worker"]),
                at=float(obj["at"]),
                status=str(obj["status"]),
                pending=int(obj.get("pending", 0)),
                owned=int(obj.get("owned", 0)),
                of=int(obj.get("of", 0)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a heartbeat: {raw[:200]!r}") from exc


class HeartbeatStore(Protocol):
    async def put(self, beat: Beat) -> None:
        """Replace `beat.worker`'s field."""

    async def read(self) -> dict[str, bytes]:
        """Every worker's field, raw (a reader decides what a bad one means)."""

    async def remove(self, *workers: str) -> None:
        """Delete these workers' fields; unknown ones are ignored."""


class MemoryHeartbeats:
    """`HeartbeatStore` in a dict, for tests of writers and readers."""

    def __init__(self) -> None:
        self.fields: dict[str, bytes] = {}

    async def put(self, beat: Beat) -> None:
        self.fields[beat.worker] = beat.encode()

    async def read(self) -> dict[str, bytes]:
        return dict(self.fields)

    async def remove(self, *workers: str) -> None:
        for worker in workers:
            self.fields.pop(worker, None)


class RedisHeartbeats:
    """`HeartbeatStore` in the Redis hash of the module doc."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.key = heartbeat_key(prefix)

    async def put(self, beat: Beat) -> None:
        """One round trip; the hash expires FORGET_AFTER_S after the last beat of any worker."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self.key, beat.worker, beat.encode().decode())
            pipe.pexpire(self.key, int(FORGET_AFTER_S * 1000))
            await pipe.execute()

    async def read(self) -> dict[str, bytes]:
        found = await self.client.hgetall(self.key)  # type: ignore[misc]
        return {k.decode(errors="replace"): bytes(v) for k, v in found.items()}

    async def remove(self, *workers: str) -> None:
        if workers:
            await self.client.hdel(self.key, *workers)  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What readers are told about the numbers they see."""

    state: str
    """"live": every worker beats and says "ok"; "stale": the views may be behind."""
    reason: str
    """"ok", "no_heartbeat" (no worker beats), "bad_heartbeat", "aggregate_<status>"
    (a beating worker is not ok), or "partitions_unowned" (the beating workers do not
    own every input partition: a silent worker's are not taken over yet)."""
    last_beat_at: float | None
    """Unix time (the writer's clock) of the newest beat ever seen; None: none yet."""
    workers: int
    """Workers beating now."""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Freshness:
    """Turns successive reads of the heartbeat hash into a `Pipeline` verdict.

    A worker is fresh while its field changed within `stale_after_s` (reader's
    monotonic clock). On first sight a field is aged by how old its `at` is
    on the reader's wall clock, so a reader started after the aggregate died
    says "stale" at once. The verdict is "live" only when at least one worker
    is fresh, every fresh one says "ok", and together they own every input
    partition. Silent workers are otherwise ignored."""

    def __init__(
        self,
        stale_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.wall = wall
        self._seen: dict[str, tuple[bytes, float]] = {}
        """worker -> (raw value, monotonic time it last changed)."""
        self._last_at: float | None = None

    def observe(self, fields: Mapping[str, bytes]) -> Pipeline:
        now = self.clock()
        beats: dict[str, Beat | None] = {}
        for worker, raw in fields.items():
            try:
                beats[worker] = beat = Beat.decode(raw)
            except ValueError:
                beats[worker] = beat = None
            known = self._seen.get(worker)
            if known is None:
                age = 0.0 if beat is None else max(0.0, self.wall() - beat.at)
                self._seen[worker] = (raw, now - age)
            elif known[0] != raw:
                self._seen[worker] = (raw, now)
            if beat is not None and (self._last_at is None or beat.at > self._last_at):
                self._last_at = beat.at
        for gone in self._seen.keys() - fields.keys():
            del self._seen[gone]
        fresh = [w for w, (_, at) in self._seen.items() if now - at <= self.stale_after_s]
        reason = self._reason(beats, fresh)
        return Pipeline("live" if reason == "ok" else "stale", reason, self._last_at, len(fresh))

    def _reason(self, beats: Mapping[str, Beat | None], fresh: list[str]) -> str:
        if not fresh:
            return "no_heartbeat"
        owned = of = 0
        for worker in sorted(fresh):
            beat = beats[worker]
            if beat is None:
                return "bad_heartbeat"
            if beat.status != "ok":
                return f"aggregate_{beat.status}"
            owned, of = owned + beat.owned, max(of, beat.of)
        return "ok" if owned >= of else "partitions_unowned"


class HeartbeatReader:
    """Reads the store and judges it: `read()` never raises. A failed read counts as
    an unchanged heartbeat, so it turns stale on time (logged once per outage)."""

    FAILURES = (aioredis.RedisError, OSError, asyncio.TimeoutError)

    def __init__(self, store: HeartbeatStore, freshness: Freshness) -> None:
        self.store = store
        self.freshness = freshness
        self.failing = False
        self._fields: dict[str, bytes] = {}

    async def read(self) -> Pipeline:
        try:
            self._fields = await self.store.read()
            if self.failing:
                log.info("aggregate heartbeat readable again")
            self.failing = False
        except self.FAILURES as exc:
            if not self.failing:
                log.warning("cannot read the aggregate heartbeat (%s)", exc)
            self.failing = True
        return self.freshness.observe(self._fields)
