"""Fan-out benchmark of the live service against a bare `websockets` broadcast server.

    python bench/bench_fanout.py [--clients N ...] [--rate R] [--seconds S] [--workers W]
                                 [--live-processes K ...]

For each N (default 1,000, 5,000 and 10,000) and each K (default 1), on the real Redis:

1. start K live processes (`votewire serve live`, as deployed: uvicorn,
   websockets-sansio, per-message compression off), each on its own port
   (`--kinds live-asgi` adds the same with VOTEWIRE_LIVE_DIRECT_WRITES=0, every
   frame through ASGI: the direct writes' effect, side by side);
2. open N websocket clients (in W client processes; client i of N goes to
   server i*K//N, equal blocks), each subscribed to the national summary
   and one region (round-robin over the 14 kz-2021 regions, so every server
   has every region), and wait until every subscription is answered;
3. write views to Redis at a steady rate for S seconds: each tick (R per
   second) a new national view and a new view of the next region, real
   kz-2021 documents (3-4 KiB) stamped with the wall-clock write time;
4. measure at the clients: frames delivered per second, the delay from the
   Redis write to receipt (p50/p99); at the servers: RSS growth per
   connection (the servers' VmRSS after the clients subscribed minus before,
   summed, / N) and CPU per delivered frame (user + system, summed).

Then the same clients against the ceiling: K bare `websockets` servers
(`bench/bare_server.py`), each following the same Redis pub/sub and calling
`websockets.broadcast` with the pre-encoded frame to the subscribers of its
channel; no snapshots, no ordering or conflation, no limits, no heartbeats.
With K > 1 the rows read "live xK" / "bare xK" and "vs bare" compares equal K.

Every client also checks that its seqs per channel strictly increase (the
bench exits 1 otherwise, or if the server dropped a client). Clients read
the write time with a regex instead of parsing each frame, so
the numbers measure delivery, not client-side JSON. Clients, servers and
Redis share this machine's CPUs: on a small box the clients are part of the
load, so they are lean RFC 6455 readers (`lean_ws.py`, a frame parser with a
callback per message: a third of the `websockets` client's user CPU per frame),
leaving more CPU to the server under test; both servers face the same clients.
Per-message compression is off on both servers (a deflate context per socket
costs tens of KiB and compresses each frame once per client).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis.asyncio as aioredis
from votewire.config import Settings
from votewire.core.codec import dumps
from votewire.infra.redis_views import RedisViews
from votewire.launcher import ServiceProcess

from bench.bare_server import bare_server
from bench.fanout_clients import ELECTION, client_worker, raise_fd_limit


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def sample_views() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A national view and 14 region views from the kz-2021 night at 60 %."""
    from votewire.core.scenario import kz2021
    from votewire.core.scenario.night import simulate_night
    from votewire.core.tally import ElectionTally

    definition = kz2021.kz2021_definition()
    tally = ElectionTally(definition)
    night = simulate_night(definition)
    for emitted in night[: int(len(night) * 0.6)]:
        tally.apply(emitted.payload)  # type: ignore[arg-type]
    views = tally.views()
    return dict(views["national"]), {k: dict(v) for k, v in views["regions"].items()}


# --- the run ---------------------------------------------------------------------------


async def write_steadily(
    views: RedisViews,
    national: dict[str, Any],
    regions: dict[str, dict[str, Any]],
    rate: float,
    seconds: float,
    version: int,
) -> tuple[float, float, int]:
    names = sorted(regions)
    start = time.time()
    ticks = int(rate * seconds)
    for tick in range(ticks):
        due = start + tick / rate
        await asyncio.sleep(max(0.0, due - time.time()))  # pacing the writes, not waiting on state
        version += 1
        stamp = time.time()
        region = names[tick % len(names)]
        await views.put_view(
            f"summary:{ELECTION}",
            version,
            dumps({**national, "bench_t": stamp, "version": version}),
        )
        await views.put_view(
            f"region:{ELECTION}:{region}",
            version,
            dumps({**regions[region], "bench_t": stamp, "version": version}),
        )
    return start, time.time(), version


def label(kind: str, servers: int) -> str:
    return kind if servers == 1 else f"{kind} x{servers}"


async def start_servers(
    kind: str, ports: list[int], n: int, args: argparse.Namespace, settings: Settings
) -> tuple[list[Any], list[int]]:
    """Start one server of `kind` per port; (the servers, their pids) once they serve."""
    servers: list[Any] = []
    try:
        for i, port in enumerate(ports):
            if kind != "bare":
                env = {
                    "VOTEWIRE_REDIS_PREFIX": settings.redis_prefix,
                    "VOTEWIRE_LIVE_PORT": str(port),
                    "VOTEWIRE_LIVE_MAX_CONNECTIONS_PER_IP": "0",
                    "VOTEWIRE_LOG_LEVEL": "warning",
                    "VOTEWIRE_LIVE_DIRECT_WRITES": "0" if kind == "live-asgi" else "1",
                    # Capacity, not policy: the bare server does not pace either.
                    "VOTEWIRE_LIVE_CHANNEL_MAX_HZ": "0",
                }
                part = "" if len(ports) == 1 else f"-x{len(ports)}-{i}"
                servers.append(
                    ServiceProcess("live", env, Path(args.log_dir) / f"{kind}-{n}{part}.log")
                )
            else:
                servers.append(
                    mp.get_context("spawn").Process(
                        target=bare_server, args=(port, settings.redis_url, settings.redis_prefix)
                    )
                )
            servers[-1].start()
        if kind != "bare":
            for server in servers:
                server.wait_healthy()
            return servers, [server.process.pid for server in servers]
        await asyncio.sleep(1.5)  # the bare server has no health endpoint
        return servers, [server.pid for server in servers]
    except BaseException:
        stop_servers(kind, servers)
        raise


def stop_servers(kind: str, servers: list[Any]) -> None:
    for server in servers:
        if kind != "bare":
            server.stop()
        else:
            server.terminate()
            server.join(10)


async def measure(
    kind: str,
    n: int,
    k: int,
    args: argparse.Namespace,
    settings: Settings,
    views: RedisViews,
    national: dict[str, Any],
    regions: dict[str, dict[str, Any]],
    version: int,
) -> tuple[dict[str, Any], int]:
    """N clients against `k` servers of `kind` (live on ports port.., bare on port+k..)."""
    base = int(settings.live_port) + (k if kind == "bare" else 0)
    ports = [base + i for i in range(k)]
    servers, pids = await start_servers(kind, ports, n, args, settings)
    try:
        before = sum(rss_kib(pid) for pid in pids)
        urls = [f"ws://127.0.0.1:{port}/v1/live" for port in ports]
        ctx = mp.get_context("spawn")
        workers, pipes = [], []
        per = [n // args.workers + (1 if i < n % args.workers else 0) for i in range(args.workers)]
        first = 0
        t_open = time.time()
        for count in per:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=client_worker, args=(urls, n, first, count, sorted(regions), child)
            )
            proc.start()
            workers.append(proc)
            pipes.append(parent)
            first += count
        for pipe in pipes:
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        t_open = time.time() - t_open
        await asyncio.sleep(1.0)  # let allocations settle before reading RSS
        after = sum(rss_kib(pid) for pid in pids)
        cpu0 = [cpu_s(pid) for pid in pids]
        t0, t1, version = await write_steadily(
            views, national, regions, args.rate, args.seconds, version
        )
        await asyncio.sleep(args.drain)  # frames in flight still count
        cpu1 = [cpu_s(pid) for pid in pids]
        user = sum(c1[0] - c0[0] for c0, c1 in zip(cpu0, cpu1, strict=True))
        system = sum(c1[1] - c0[1] for c0, c1 in zip(cpu0, cpu1, strict=True))
        delays: list[float] = []
        closed = backwards = 0
        for pipe in pipes:
            pipe.send("stop")
            result = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
            got = result["got"]
            closed += result["closed"]
            backwards += result["backwards"]
            delays.extend(
                d for d, stamp in zip(got[::2], got[1::2], strict=True) if t0 <= stamp <= t1
            )
        for proc in workers:
            proc.join(30)
    finally:
        stop_servers(kind, servers)
    delays.sort()
    ticks = int(args.rate * args.seconds)
    expected = n * ticks * (1 + 1 / len(regions))
    q = (
        (lambda p: delays[min(len(delays) - 1, int(p * len(delays)))] * 1000)
        if delays
        else (lambda p: float("nan"))
    )
    return {
        "server": kind,
        "servers": k,
        "clients": n,
        "open_s": t_open,
        "frames_s": len(delays) / (t1 - t0),
        "delivered": len(delays) / expected if expected else 0.0,
        "p50_ms": q(0.50),
        "p99_ms": q(0.99),
        "kib_per_conn": (after - before) / n,
        "cpu_us_frame": 1e6 * (user + system) / max(1, len(delays)),
        "sys_share": system / max(1e-9, user + system),
        "closed": closed,
        "backwards": backwards,
    }, version


def table(rows: list[dict[str, Any]], width: int = 6) -> str:
    """The rows under a header; the server column is `width` wide ("live", "live x2")."""
    width = max([width, *(len(label(r["server"], r["servers"])) for r in rows)])
    head = (
        f"{'server':<{width}} {'clients':>7} {'open s':>7} {'frames/s':>10} {'deliv.':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'KiB/conn':>9} {'CPU us/fr':>9} {'(sys)':>6} {'vs bare':>16}"
    )
    lines = [head, "-" * len(head)]
    bare = {(r["clients"], r["servers"]): r for r in rows if r["server"] == "bare"}
    for r in rows:
        ratio = ""
        if r["server"] != "bare" and (r["clients"], r["servers"]) in bare:
            b = bare[r["clients"], r["servers"]]
            ratio = f"x{r['frames_s'] / b['frames_s']:.2f} fr, x{r['p99_ms'] / b['p99_ms']:.1f} p99"
        lines.append(
            f"{label(r['server'], r['servers']):<{width}} {r['clients']:>7} {r['open_s']:>7.1f} "
            f"{r['frames_s']:>10.0f} "
            f"{r['delivered']:>7.1%} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
            f"{r['kib_per_conn']:>9.1f} {r['cpu_us_frame']:>9.1f} {r['sys_share']:>6.0%} "
            f"{ratio:>16}"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> bool:
    hard = raise_fd_limit()
    settings = Settings.from_env(
        {
            **os.environ,
            "VOTEWIRE_REDIS_PREFIX": f"bench-{os.getpid()}",
            "VOTEWIRE_LIVE_PORT": str(args.port),
        }
    )
    national, regions = sample_views()
    print(
        f"fd limit {hard}; views: national {len(dumps(national))} B, "
        f"region ~{len(dumps(next(iter(regions.values()))))} B; {len(regions)} regions; "
        f"{args.rate}/s national + {args.rate}/s one region, {args.seconds}s per run",
        flush=True,
    )
    client = aioredis.Redis.from_url(settings.redis_url)
    views = RedisViews(client, settings.redis_prefix, feed_maxlen=100)
    rows: list[dict[str, Any]] = []
    width = len(label(max(args.kinds, key=len), max(args.live_processes)))  # server column
    version = 1
    await views.put_view(f"summary:{ELECTION}", version, dumps(national))
    for name, view in regions.items():
        await views.put_view(f"region:{ELECTION}:{name}", version, dumps(view))
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, at start)
    try:
        for n in args.clients:
            if n + 200 > hard:  # the server holds n sockets; clients are spread over workers
                print(f"skipping {n} clients: fd limit {hard}", flush=True)
                continue
            for k in args.live_processes:
                for kind in args.kinds:
                    row, version = await measure(
                        kind, n, k, args, settings, views, national, regions, version
                    )
                    rows.append(row)
                    print(table([row], width).splitlines()[-1], flush=True)
    finally:
        keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*", count=5000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    print()
    print(table(rows))
    bad = [r for r in rows if r["backwards"] or r["closed"]]
    for r in bad:
        print(
            f"FAIL {label(r['server'], r['servers'])} {r['clients']}: {r['backwards']} frames "
            f"at or below a seq already received, {r['closed']} connections closed by the server"
        )
    if not bad:
        print("every client saw strictly increasing seqs per channel; no connection was dropped")
    return not bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--rate", type=float, default=4.0, help="ticks per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--drain", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["live", "bare"],
        choices=["live", "live-asgi", "bare"],
        help="servers, in order; live-asgi: live with VOTEWIRE_LIVE_DIRECT_WRITES=0",
    )
    parser.add_argument(
        "--live-processes",
        type=int,
        nargs="+",
        default=[1],
        metavar="K",
        help="live processes sharing the N clients (and as many bare servers); "
        "several values: a live and a bare row for each",
    )
    parser.add_argument("--port", type=int, default=18480)
    parser.add_argument("--log-dir", default="bench/results/fanout-logs")
    sys.exit(0 if asyncio.run(main_async(parser.parse_args())) else 1)


if __name__ == "__main__":
    main()
