"""Stage 1 of the aggregate written with Quix Streams, as a peer: fold rate beside a raw consumer.

    pip install -e '.[bench]'      # quixstreams (confluent-kafka, RocksDB wheels)
    python bench/bench_peer.py [--runs R] [--repeat K] [--faust]

What: faust's stage 1 (services/aggregate/folder.py) folds reports into race
states and publishes race views. The peer is the same fold on Quix Streams,
with the same domain core: per report `decode_report_trusted(loads(value))`,
the key check, the definition and race lookups, `RaceState.apply`; per change
the snapshot (`RaceState.to_bytes()`, as folder.py) into Quix's per-key
RocksDB state (changelog topic behind it) and `dumps(view())` to an output topic keyed
"<election>/<race>", like `race-snapshots`.

How, per run (fresh topics, consumer groups and state dir, removed after):
1. the kz-2021 night (bench_aggregate's faults, ~14,000 reports) goes K times
   (--repeat; copy n under election id "<id>-<n>") to a fresh reports topic;
2. ceilings on that topic: a raw aiokafka consumer (bench_aggregate's
   `plain_consumer_rate`) and a raw confluent-kafka consumer (librdkafka,
   which Quix is built on), each reading the whole topic;
3. the peer: a Quix `Application` (earliest, at-least-once, commit every
   0.5 s like faust's broker_commit_interval) that stops itself
   (`Application.stop()`) after the last report; rate = reports / time from
   its first to its last fold, as bench_aggregate's "fold";
4. check: the last view of every race on the output topic equals the pure
   fold's (`tally_of`), with one view message per change, and the changelog
   restores (`RaceState.from_dict`) the same views. Exit 1 otherwise.
--faust also runs bench_aggregate's `fold_run` (faust worker, Redis) each
run, on its own topic with one copy of the night.

Caveats: the peer does less than faust's stage 1: no Redis (faust offers
each view to its Redis writer; stages 2 and 3 share its process), no
region-packed views, no dead letters (a rejected report fails the run).
Faust writes state and view once per changed race per batch (<= 500
records); the peer once per change (Quix coalesces the changelog per
checkpoint). The peer runs in this process, faust in its own; librdkafka does
its I/O in native threads, aiokafka in the Python thread. The RaceState cache
is not dropped on a rebalance (one consumer: none happens). On a shared
2-core host all of it competes with Kafka for the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from bench_aggregate import FAULTS, fold_run, plain_consumer_rate
from confluent_kafka import OFFSET_BEGINNING, Consumer
from confluent_kafka import TopicPartition as RdTopicPartition
from quixstreams import Application, State
from quixstreams import __version__ as quix_version
from quixstreams.models.topics import TopicConfig
from votewire.aggregate.folder import race_key
from votewire.config import Settings
from votewire.core.codec import decode_report_trusted, dumps, loads
from votewire.core.models import ElectionDefinition, Report
from votewire.core.race_state import RaceState
from votewire.infra.kafka_topics import ensure_topics, topic_partitions

from tests.support.aggregate_night import kz_night, produce_reports, tally_of
from tests.support.stack import isolated_env, settings_for

STATE_KEY = "race"  # the one entry of each race's (per-key) Quix state


class Peer:
    """The fold callback of the Quix dataframe; stops the app after `expected` reports."""

    def __init__(self, definitions: dict[str, ElectionDefinition], expected: int) -> None:
        self.definitions = definitions
        self.expected = expected
        self.cache: dict[bytes, RaceState] = {}
        self.folded = self.rejected = 0
        self.first = self.last = 0.0
        self.app: Application | None = None

    def fold(self, value: bytes, key: bytes, _ts: int, _headers: Any, store: State) -> bytes | None:
        if not self.folded:
            self.first = time.perf_counter()
        self.folded += 1
        doc = self._fold(value, key, store)
        if self.folded == self.expected:
            self.last = time.perf_counter()
            assert self.app is not None
            self.app.stop()  # ends the poll loop after this message; run() commits, returns
        return doc

    def _fold(self, value: bytes, key: bytes, store: State) -> bytes | None:
        try:
            report = decode_report_trusted(loads(value or b""))
        except (ValueError, KeyError, TypeError):
            self.rejected += 1  # folder.py: dead letter "undecodable"
            return None
        definition = self.definitions.get(report.election_id)
        if key != race_key(report.election_id, report.race_id) or (
            definition is None or definition.race(report.race_id) is None
        ):
            self.rejected += 1  # folder.py: "misrouted" / "unknown_race"
            return None
        state = self.cache.get(key)
        if state is None or state.definition is not definition:
            stored = store.get_bytes(STATE_KEY)
            state = (
                RaceState.from_dict(definition, loads(stored))
                if stored
                else RaceState(definition, report.race_id)
            )
            self.cache[key] = state
        if not state.apply(report).changed:
            return None
        store.set_bytes(STATE_KEY, state.to_bytes())  # = dumps(to_dict()), as folder.py
        return dumps(state.view())


@dataclasses.dataclass
class PeerRun:
    aiokafka: float  # reports/s of each reader
    confluent: float
    quix: float
    startup_s: float  # app.run() to the first fold: assignment, topic checks
    shutdown_s: float  # last fold to run() returning: final commit, close


def copies(
    definition: ElectionDefinition, reports: list[Report], k: int
) -> tuple[dict[str, ElectionDefinition], list[Report]]:
    """The night `k` times, copy n under election id "<id>-<n>" (copy 0 keeps its id)."""
    defs: dict[str, ElectionDefinition] = {}
    out: list[Report] = []
    for n in range(k):
        eid = f"{definition.election_id}-{n}" if n else definition.election_id
        defs[eid] = dataclasses.replace(definition, election_id=eid)
        out += [dataclasses.replace(r, election_id=eid) for r in reports] if n else reports
    return defs, out


def confluent_consumer_rate(settings: Settings, expected: int) -> float:
    """Reports/s of a librdkafka consumer reading the whole topic (`consume` returns early
    only once it has `num_messages`: ask for what is left)."""
    topic = settings.reports_topic
    group = f"{settings.topic_prefix}-raw"  # assigned, never committed
    conf = {"bootstrap.servers": settings.kafka_bootstrap, "group.id": group}
    consumer = Consumer({**conf, "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([RdTopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        seen = 0
        start = time.perf_counter()
        while seen < expected:
            batch = consumer.consume(min(10_000, expected - seen), timeout=1.0)
            seen += sum(m.error() is None for m in batch)
        return seen / (time.perf_counter() - start)
    finally:
        consumer.close()


def run_peer(settings: Settings, peer: Peer, state_dir: Path, views_topic: str) -> float:
    """Run the Quix app until the peer stops it; return when run() was called."""
    app = Application(
        broker_address=settings.kafka_bootstrap,
        consumer_group=f"{settings.topic_prefix}-quix",
        auto_offset_reset="earliest",
        commit_interval=0.5,
        state_dir=state_dir,
        loglevel="WARNING",
        processing_guarantee="at-least-once",
    )
    peer.app = app
    reports = app.topic(settings.reports_topic, value_deserializer="bytes")  # keys: bytes
    views = app.topic(
        views_topic,
        key_serializer="bytes",
        value_serializer="bytes",
        config=TopicConfig(num_partitions=settings.report_partitions, replication_factor=1),
    )
    sdf = app.dataframe(reports)
    sdf = sdf.apply(peer.fold, stateful=True, metadata=True).filter(lambda doc: doc is not None)
    sdf.to_topic(views)
    started = time.perf_counter()
    app.run(timeout=30, collect=False)  # timeout: only if the peer stalls (then check fails)
    return started


async def read_topic(settings: Settings, topic: str) -> list[Any]:
    """Every record of `topic`, each partition in order."""
    bootstrap = settings.kafka_bootstrap
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        out: list[Any] = []
        while any([await consumer.position(tp) < end[tp] for tp in parts]):
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                out += records
        return out
    finally:
        await consumer.stop()


async def check(
    settings: Settings, defs: dict[str, ElectionDefinition], reports: list[Report], views: str
) -> list[str]:
    """What differs from the pure fold (empty: all good)."""
    expected: dict[bytes, bytes] = {}
    changes = 0
    for eid, definition in defs.items():
        tally = tally_of(definition, (r for r in reports if r.election_id == eid))
        for rid, state in tally.races.items():
            if state.version:
                expected[race_key(eid, rid)] = dumps(state.view())
                changes += state.version
    problems: list[str] = []
    records = await read_topic(settings, views)
    found = {r.key: r.value for r in records}
    wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    if wrong:
        problems.append(f"{len(wrong)} race views differ, e.g. {wrong[:5]}")
    if len(records) != changes:
        problems.append(f"{len(records)} view messages for {changes} changes")
    (changelog,) = [t for t in await my_topics(settings) if t.startswith("changelog__")]
    restored: dict[bytes, bytes] = {}
    for r in await read_topic(settings, changelog):
        headers = dict(r.headers)
        if headers.get("__column_family__") == b"default" and r.value is not None:
            payload = r.value[8:] if headers.get("__ttl_stamped__") else r.value  # TTL stamp
            restored[r.key.rsplit(b"|", 1)[0]] = payload
    recovered = {
        k: dumps(RaceState.from_dict(defs[k.decode().split("/")[0]], loads(v)).view())
        for k, v in restored.items()
    }
    if recovered != expected:
        problems.append("the changelog does not restore the pure fold's race states")
    return problems


async def my_topics(settings: Settings, delete: bool = False) -> list[str]:
    """This run's topics (their names hold its unique prefix); deleted if `delete`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if settings.topic_prefix in t]
        if delete and mine:
            await admin.delete_topics(mine)
        return mine
    finally:
        await admin.close()


def peer_run(defs: dict[str, ElectionDefinition], reports: list[Report]) -> PeerRun:
    settings = settings_for(isolated_env("bench-peer"))
    state_dir = Path(tempfile.mkdtemp(prefix="bench-peer-state-"))
    views = f"{settings.topic_prefix}.peer-race-views"
    try:
        asyncio.run(ensure_topics(settings))
        asyncio.run(produce_reports(settings, reports))
        raw = asyncio.run(plain_consumer_rate(settings, len(reports)))
        rd = confluent_consumer_rate(settings, len(reports))
        peer = Peer(defs, len(reports))
        started = run_peer(settings, peer, state_dir, views)
        returned = time.perf_counter()
        problems = asyncio.run(check(settings, defs, reports, views))
        if peer.folded != len(reports) or peer.rejected:
            problems.append(f"folded {peer.folded} of {len(reports)}, {peer.rejected} rejected")
        if problems:
            raise SystemExit("quix peer is wrong: " + "; ".join(problems))
        rate = peer.folded / (peer.last - peer.first)
        return PeerRun(raw, rd, rate, peer.first - started, returned - peer.last)
    finally:
        asyncio.run(my_topics(settings, delete=True))
        shutil.rmtree(state_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (median printed)")
    parser.add_argument("--repeat", type=int, default=1, help="copies of the night per run")
    parser.add_argument("--faust", action="store_true", help="also bench_aggregate's fold_run")
    args = parser.parse_args()

    definition, night = kz_night(FAULTS)
    defs, reports = copies(definition, night, args.repeat)
    print(f"kz-2021 night x{args.repeat}: {len(reports):,} reports, quixstreams {quix_version}")
    runs: list[PeerRun] = []
    fausts: list[tuple[float, float]] = []
    logs = Path(tempfile.mkdtemp(prefix="bench-peer-faust-")) if args.faust else Path()
    for n in range(args.runs):
        runs.append(peer_run(defs, reports))
        print(f"  run {n + 1}: {runs[-1]}")
        if args.faust:
            fold = asyncio.run(fold_run(definition, night, logs / f"faust-{n}"))
            fausts.append((fold.ceiling, fold.fold))
            print(f"  run {n + 1}, faust: {fold}")
    if args.faust:
        shutil.rmtree(logs, ignore_errors=True)  # kept when fold_run fails (it names them)

    med = statistics.median
    raw = med([r.aiokafka for r in runs])
    rows = [  # (reader, reports/s, the aiokafka ceiling it is compared with)
        ("raw aiokafka consumer", raw, raw),
        ("raw confluent-kafka consumer", med([r.confluent for r in runs]), raw),
        ("quix peer, stage 1 fold", med([r.quix for r in runs]), raw),
    ]
    if fausts:
        own = med([c for c, _ in fausts])
        rows.append(("faust stage 1 fold (own topic, x1)", med([f for _, f in fausts]), own))
    width = max(len(name) for name, _, _ in rows)
    print(f"\nmedians of {args.runs} run(s); no Redis in the peer (faust's stage 1 offers to it)\n")
    print(f"| {'reader'.ljust(width)} | reports/s | vs raw aiokafka")
    print(f"| {'-' * width} | --------- | ---------------")
    for name, rate, base in rows:
        note = "" if base == raw else f" (its own run's aiokafka: {base:,.0f}/s)"
        print(f"| {name.ljust(width)} | {rate:9,.0f} | {rate / base:.1%}{note}")
    print()
    if fausts:
        paired = med([r.quix / f for r, (_, f) in zip(runs, fausts, strict=True)])
        print(f"quix peer / faust stage 1, paired per run (median): {paired:.2f}x")
    print(
        f"quix start-up to first fold: {med([r.startup_s for r in runs]):.2f} s; "
        f"last fold to run() returned: {med([r.shutdown_s for r in runs]):.2f} s"
    )


if __name__ == "__main__":
    main()
