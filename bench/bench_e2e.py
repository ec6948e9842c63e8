"""End-to-end latency: ingest acknowledgement -> websocket receipt, at steady rates.

    python bench/bench_e2e.py [--rates 200,2000] [--clients 1000] [--seconds S] [--runs R]
    python bench/bench_e2e.py --region-table PRECINCTS [--regions 17] --clients 10000 --rates 200

Per rate and run, with fresh topics, consumer group and Redis prefix on the
real stack (`votewire stack up`):

1. start ingest (open dev mode, no rate limit), one aggregate worker and one
   live process as child processes;
2. open N websocket clients (in W client processes), each on the national
   summary and at least 3 race channels, round-robin so that every one of the
   730 kz-2021 races is watched;
3. POST the kz-2021 night (faults on, as in bench_aggregate) to ingest: 200
   warm-up reports, then `rate` reports/s for S seconds (at most the night's
   14,222). At most 200 requests/s: one report per request at 200/s, NDJSON
   batches of rate/200 above (a batch's reports share its answer); at most
   64 requests in flight, so a slow ingest lowers the rate sent ("sent/s");
4. once Redis holds the final views, wait until the clients have them too.

Latency, per report of the timed phase that changed its race: from ingest's
2xx answer to the first frame received by any client on that race's channel
at or past the version the report produced (both `time.time()`). Versions are
those of the fold order, the reports topic's (`bench_aggregate.race_versions`).
Views are coalesced: one frame can settle several reports; a frame received
before the answer counts 0.

Fails (exit 1) unless the topic holds exactly the acknowledged report ids,
every Redis document equals the pure fold of them, each client's seqs per
channel strictly increase, no client is dropped, and every measured report
reaches a client. Figures are not asserted.

`--region-table PRECINCTS` (issue 15's fan-out): instead of kz-2021, one
national race spanning `--regions` regions (`region_id` null, its PRECINCTS
stations dealt round-robin to the regions; the night of
`bench_stage1.night`: 6 turnout figures and one result per station), and
every client watches the race's whole region table: all its
`unit:E:PRES:region.G` channels. Latency is per result report (turnout does
not move a unit): ingest's answer -> the first frame of its precinct's
region at or past the race version it produced (a unit's version is the
race's at the unit's last change). The line also gives the live process's
memory per connection: its VmRSS once every client subscribed minus before
the first connected, over the clients.

Caveats: services, clients, feeder, Kafka and Redis share the machine's CPUs
(2 cores here), so the clients are part of the load: they are lean RFC 6455
readers (`lean_ws.py`, a frame parser with a callback per message, not the
`websockets` client) that read channel, seq and version with a regex, not a
JSON parse; services log at `warning`; the first seconds of the night are
turnout reports.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from votewire.core.codec import decode_definition, dumps, encode_definition, encode_report
from votewire.core.models import ElectionDefinition, Report, ResultReport
from votewire.launcher import ServiceProcess, start_services

from bench.bench_aggregate import FAULTS, env_for, race_versions
from bench.bench_fanout import rss_kib
from bench.bench_ingest import NDJSON, Connection, cleanup
from bench.bench_stage1 import national_definition
from bench.bench_stage1 import night as national_night
from bench.e2e_clients import client_worker
from bench.fanout_clients import raise_fd_limit
from tests.support.aggregate_night import (
    expected_outputs,
    kz_night,
    publish_definition,
    read_reports,
    redis_outputs,
    tally_of,
    wait_for_outputs,
)
from tests.support.polling import eventually
from tests.support.stack import settings_for

WARMUP = 200
MAX_REQUESTS_S = 200  # above this rate, reports are batched
T = TypeVar("T")


# --- parent side ---------------------------------------------------------------------


def channel_lists(definition: ElectionDefinition, clients: int) -> list[list[str]]:
    """Per client: the summary and `k` races, round-robin so every race is watched."""
    e = definition.election_id
    races = sorted(r.race_id for r in definition.races)
    k = max(3, -(-len(races) // clients))
    if k > 63:
        raise SystemExit(f"{clients} clients cannot watch {len(races)} races (64 channels each)")
    return [
        [f"summary:{e}"] + [f"race:{e}:{races[(i * k + j) % len(races)]}" for j in range(k)]
        for i in range(clients)
    ]


def region_table_definition(precincts: int, regions: int) -> ElectionDefinition:
    """One presidential race spanning `regions` regions, stations dealt round-robin."""
    base = encode_definition(national_definition(precincts))
    base["election_id"] = "bench-regions"
    base["regions"] = [
        {"region_id": f"R{g:02d}", "name": f"Region {g}", "timezone": None} for g in range(regions)
    ]
    race = base["races"][0]
    race["region_id"] = None
    for i, precinct in enumerate(race["precincts"]):
        precinct["region_id"] = f"R{i % regions:02d}"
    return decode_definition(base)


def unit_channels(definition: ElectionDefinition) -> list[str]:
    """The region table of the definition's one race: a channel per region."""
    race = definition.races[0]
    e = definition.election_id
    return [f"unit:{e}:{race.race_id}:region.{r.region_id}" for r in definition.regions]


def unit_channel_of(definition: ElectionDefinition) -> Callable[[Report], str | None]:
    """A result report's region channel; None for turnout (it moves no unit)."""
    race = definition.races[0]
    region = {p.precinct_id: p.region_id for p in race.precincts}
    e = definition.election_id

    def channel(report: Report) -> str | None:
        if not isinstance(report, ResultReport):
            return None
        return f"unit:{e}:{report.race_id}:region.{region[report.precinct_id]}"

    return channel


def race_channel_of(definition: ElectionDefinition) -> Callable[[Report], str | None]:
    return lambda report: f"race:{definition.election_id}:{report.race_id}"


# --- the feeder ------------------------------------------------------------------------


@dataclass
class Feeder:
    """POSTs reports to ingest at a steady rate; keeps each report id's first ack time."""

    port: int
    batch: int
    acks: dict[str, float] = field(default_factory=dict)
    answers: list[float] = field(default_factory=list)
    """Seconds from each request's due time to ingest's answer."""
    retries: int = 0
    pool: list[tuple[Connection, float]] = field(default_factory=list)
    """Idle keep-alive connections and when each was last used."""

    async def connection(self) -> Connection:
        """An idle connection uvicorn has not closed yet (it does after 5 s), or a new one."""
        while self.pool:
            conn, used = self.pool.pop()
            if time.monotonic() - used < 3:
                return conn
            with contextlib.suppress(OSError):
                await conn.close()
        return await Connection.open(self.port)

    async def post(self, chunk: list[Report], lanes: asyncio.Semaphore) -> None:
        due = time.time()
        if self.batch == 1:
            body, kind = dumps(encode_report(chunk[0])), "application/json"
        else:
            body, kind = b"\n".join(dumps(encode_report(r)) for r in chunk), NDJSON
        async with lanes:
            conn = await self.connection()
            while True:  # a retried request is safe: ingest answers a repeat as a duplicate
                try:
                    status, answer = await conn.post("/v1/reports", body, kind)
                except (ConnectionError, asyncio.IncompleteReadError):
                    status, answer, conn = 0, b"", await Connection.open(self.port)
                if status not in (0, 429, 503):  # 429/503 not expected: no rate limit
                    break
                self.retries += 1
                await asyncio.sleep(0.2 if status else 0)  # deadline-poll: ingest asked to retry
            at = time.time()
            self.pool.append((conn, time.monotonic()))
            self.answers.append(at - due)
        if status != 200 or json.loads(answer)["accepted"] != len(chunk):
            raise SystemExit(f"FAIL: ingest answered {status}: {answer[:300]!r}")
        for report in chunk:
            self.acks.setdefault(report.report_id, at)

    async def feed(self, reports: list[Report], rate: float) -> float:
        """Send `reports` at `rate`/s; the achieved rate (until the last answer)."""
        lanes = asyncio.Semaphore(64)
        sends = []
        start = time.perf_counter()
        for n, i in enumerate(range(0, len(reports), self.batch)):
            delay = start + n * self.batch / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing
            sends.append(asyncio.create_task(self.post(reports[i : i + self.batch], lanes)))
        await asyncio.gather(*sends)
        return len(reports) / (time.perf_counter() - start)

    async def close(self) -> None:
        for conn, _ in self.pool:
            with contextlib.suppress(OSError):
                await conn.close()


# --- one run ---------------------------------------------------------------------------


@dataclass
class Run:
    rate: int
    batch: int
    sent: int
    achieved: float
    latencies: list[float] = field(repr=False)
    frames: int
    early: int
    """Measured reports whose view reached a client before ingest's answer (counted 0)."""
    published_twice: int
    retries: int
    answer_ms: float
    """Median time from a request's due time to ingest's answer."""
    kib_per_client: float = float("nan")
    """The live process's VmRSS growth from before the clients to all subscribed, per client."""

    def q(self, p: float) -> float:
        data = self.latencies
        return data[min(len(data) - 1, int(p * len(data)))] * 1000 if data else float("nan")

    def __str__(self) -> str:
        return (
            f"{self.rate}/s: sent {self.sent:,}, p50 {self.q(0.5):,.0f} ms; {self.early} views "
            f"before the ack, {self.published_twice} published twice, {self.retries} retries, "
            f"live {self.kib_per_client:.1f} KiB per client"
        )


async def ask_clients(pipes: list[Pipe], message: object = None) -> list[Any]:
    """Send `message` (if any) to every client process and collect their answers."""
    for pipe in pipes:
        if message is not None:
            pipe.send(message)
    answers = []
    for pipe in pipes:
        if not await asyncio.get_running_loop().run_in_executor(None, pipe.poll, 300):
            raise SystemExit("FAIL: a client process did not answer in 300 s")
        answers.append(pipe.recv())
    return answers


async def guarded(procs: dict[str, ServiceProcess], coro: Awaitable[T]) -> T:
    """Await `coro`, failing at once (with the log's tail) if a service exits meanwhile."""
    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.wait({task}, timeout=0.5)
        dead = [p for p in procs.values() if not p.alive()]
        if dead and not task.done():
            task.cancel()
            raise SystemExit(f"FAIL: {dead[0].name} exited:\n{dead[0].log_tail(15)}")
    return task.result()


def start_clients(url: str, lists: list[list[str]], workers: int) -> list[tuple[Any, Pipe]]:
    ctx = mp.get_context("spawn")
    started = []
    for w in range(workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=client_worker, args=(url, lists[w::workers], child))
        proc.start()
        started.append((proc, parent))
    return started


def delays(
    definition: ElectionDefinition,
    topic: list[Report],
    measured: set[str],
    acks: dict[str, float],
    results: list[dict[str, Any]],
    channel_of: Callable[[Report], str | None],
) -> tuple[list[float], int, int]:
    """(latencies in s, how many views arrived before the ack, how many never arrived);
    `channel_of`: the channel a report's change is seen on (None: not measured)."""
    produced: dict[str, tuple[str, int | None]] = {}  # the first occurrence on the topic
    for report, version in zip(topic, race_versions(definition, topic), strict=True):
        channel = channel_of(report)
        produced.setdefault(report.report_id, (channel or "", version if channel else None))
    merged: dict[str, list[tuple[float, int]]] = {}  # over every client process
    for result in results:
        for channel, firsts in result["firsts"].items():
            merged.setdefault(channel, []).extend(firsts)
    receipts = {  # channel -> (times, highest version received by then)
        c: ([t for t, _ in f], list(accumulate((v for _, v in f), max)))
        for c, f in ((c, sorted(f)) for c, f in merged.items())
    }
    out, early, missing = [], 0, 0
    for rid in measured:
        channel, version = produced[rid]
        if version is None:
            continue  # changed nothing (a late duplicate, a superseded revision)
        times, tops = receipts.get(channel, ([], []))
        at = bisect.bisect_left(tops, version)
        if at == len(tops):
            missing += 1
            continue
        delay = times[at] - acks[rid]
        early += delay < 0
        out.append(max(0.0, delay))
    return sorted(out), early, missing


async def run_once(
    definition: ElectionDefinition, night: list[Report], rate: int, args: argparse.Namespace
) -> Run:
    env = {
        **env_for(f"e2e{rate}"),
        "VOTEWIRE_LOG_LEVEL": "warning",
        "VOTEWIRE_CREDENTIALS_FILE": "",
        "VOTEWIRE_INGEST_RATE": "0",
        "VOTEWIRE_LIVE_MAX_CONNECTIONS_PER_IP": "0",
    }
    settings = settings_for(env)
    batch = max(1, -(-rate // MAX_REQUESTS_S))
    timed = night[WARMUP : WARMUP + int(rate * args.seconds)]
    await publish_definition(settings, definition)
    procs: dict[str, ServiceProcess] = {}
    clients: list[tuple[Any, Pipe]] = []
    results: list[dict[str, Any]] = []
    feeder = Feeder(settings.ingest_port, batch)
    fail = f"FAIL at {rate}/s:"
    try:
        procs = start_services(env, args.logs / f"{rate}", ("ingest", "aggregate", "live"))
        url = f"ws://127.0.0.1:{settings.live_port}/v1/live"
        live = procs["live"].process
        assert live is not None
        rss_before = rss_kib(live.pid)
        if args.region_table:
            lists = [unit_channels(definition)] * args.clients
        else:
            lists = channel_lists(definition, args.clients)
        clients = start_clients(url, lists, args.workers)
        pipes = [pipe for _, pipe in clients]
        await ask_clients(pipes)  # "ready": every subscription answered
        kib_per_client = (rss_kib(live.pid) - rss_before) / args.clients
        watch = partial(guarded, procs)
        await watch(feeder.feed(night[:WARMUP], min(rate, 500)))
        summary = (
            unit_channels(definition)
            if args.region_table
            else [f"summary:{definition.election_id}"]
        )
        await watch(eventually(lambda: redis_outputs(settings, summary), 120, "warm-up views"))
        feeder.answers.clear()  # the timed phase's
        achieved = await watch(feeder.feed(timed, rate))
        topic = await read_reports(settings)
        ids = {r.report_id for r in topic}
        if ids != feeder.acks.keys():
            lost, extra = len(feeder.acks.keys() - ids), len(ids - feeder.acks.keys())
            raise SystemExit(f"{fail} {lost} acknowledged reports lost, {extra} unacknowledged")
        expected = expected_outputs(tally_of(definition, topic))
        try:
            await watch(wait_for_outputs(settings, expected, 300, "final views"))
        except AssertionError as exc:
            raise SystemExit(f"{fail} wrong totals: {exc}") from None
        final = {
            c: v for c, (v, _) in expected.items() if c.startswith(("race:", "summary:", "unit:"))
        }
        results = await ask_clients(pipes, final)
    finally:
        for proc in procs.values():
            proc.stop()
        for worker, _ in clients:
            worker.join(30 if results else 0.5)
            if worker.is_alive():
                worker.terminate()
        await feeder.close()
        await cleanup(settings)
    for key in ("backwards", "closed", "behind"):  # seqs at or below one seen, dropped, late
        if count := sum(r[key] for r in results):
            raise SystemExit(f"{fail} clients: {key} {count}")
    measured = {r.report_id for r in timed} - {r.report_id for r in night[:WARMUP]}
    channel_of = (unit_channel_of if args.region_table else race_channel_of)(definition)
    acks = feeder.acks
    latencies, early, missing = delays(definition, topic, measured, acks, results, channel_of)
    if missing:
        raise SystemExit(f"{fail} {missing} reports never reached a client")
    frames, twice = sum(r["frames"] for r in results), len(topic) - len(ids)
    answer_ms = statistics.median(feeder.answers) * 1000
    counts = (frames, early, twice, feeder.retries, answer_ms, kib_per_client)
    return Run(rate, batch, len(timed), achieved, latencies, *counts)


COLUMNS: list[tuple[str, Callable[[Run], float]]] = [
    ("rate/s", lambda r: r.rate),
    ("sent/s", lambda r: r.achieved),
    ("per req", lambda r: r.batch),
    ("answer ms", lambda r: r.answer_ms),
    ("measured", lambda r: len(r.latencies)),
    ("p50 ms", lambda r: r.q(0.5)),
    ("p95 ms", lambda r: r.q(0.95)),
    ("p99 ms", lambda r: r.q(0.99)),
    ("frames", lambda r: r.frames),
    ("KiB/client", lambda r: r.kib_per_client),
]


def table(rows: list[list[Run]], clients: int) -> str:
    """One line per rate: the median of its runs in each column."""
    head = "  ".join(f"{name:>9}" for name, _ in COLUMNS) + "    clients"
    lines = [head, "-" * len(head)]
    for runs in rows:
        cells = [f"{statistics.median(get(r) for r in runs):>9,.0f}" for _, get in COLUMNS]
        lines.append("  ".join(cells) + f"  {clients:>9}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    hard = raise_fd_limit()
    if args.clients + 200 > hard:
        raise SystemExit(f"fd limit {hard} is too low for {args.clients} clients")
    rates = [int(r) for r in args.rates.split(",")]
    if args.region_table:
        definition = region_table_definition(args.region_table, args.regions)
        night = national_night(definition)
        print(
            f"region table: one race of {args.region_table:,} stations over {args.regions} "
            f"regions, {len(night):,} reports; {args.clients} clients in {args.workers} "
            f"processes, each on all {args.regions} region channels; {args.seconds:g} s per "
            f"rate; logs in {args.logs}",
            flush=True,
        )
    else:
        definition, night = kz_night(FAULTS)
        k = len(channel_lists(definition, args.clients)[0]) - 1
        print(
            f"kz-2021 night: {len(night):,} reports, {len(definition.races)} races; "
            f"{args.clients} clients in {args.workers} processes, each on the summary and {k} "
            f"races; {args.seconds:g} s per rate; logs in {args.logs}",
            flush=True,
        )
    rows = []
    for rate in rates:
        if WARMUP + rate * args.seconds > len(night):
            print(f"  {rate}/s: the night ends after {(len(night) - WARMUP) / rate:.1f} s")
        runs = []
        for run in range(args.runs):
            runs.append(await run_once(definition, night, rate, args))
            print(f"  run {run + 1}: {runs[-1]}", flush=True)
        rows.append(runs)
    print(
        f"\nmedians of {args.runs} run(s); 'per req': reports per HTTP request (at most "
        f"{MAX_REQUESTS_S} requests/s); 'answer ms': p50 from a request's due time to "
        "ingest's answer; p50/p95/p99: ingest answer -> first websocket frame at or past "
        "the report's race version\n"
    )
    print(table(rows, args.clients))
    print(
        "\nevery run: the topic held exactly the acknowledged reports, Redis equalled the "
        "pure fold, seqs never went backwards, no client was dropped"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,2000", help="steady reports/s, comma-separated")
    parser.add_argument("--clients", type=int, default=1000, help="websocket clients")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed phase per rate")
    parser.add_argument("--runs", type=int, default=1, help="runs per rate (medians)")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--logs", type=Path, default=None, help="service logs (default: tmp)")
    parser.add_argument(
        "--region-table", type=int, default=0, metavar="PRECINCTS",
        help="one national race of PRECINCTS stations; every client on its region table",
    )  # fmt: skip
    parser.add_argument("--regions", type=int, default=17, help="regions of --region-table")
    args = parser.parse_args()
    args.logs = args.logs or Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
