"""The client side of the fan-out benchmark (`bench_fanout.py`): websocket clients that
subscribe, answer pings, check seqs and record each frame's delay.

The clients are lean RFC 6455 readers (`bench/lean_ws.py`): up to 10,000 of them share
the machine with the server under test, and the `websockets` asyncio client's cost per
received frame (a generator-based parser, a frame queue, a future and a task wake-up per
message) took CPU from that server. Each frame is handed to a plain callback that reads
its head with a regex: about 10 us of user CPU per frame instead of about 28 (1,000
clients, 1.4 KB frames; the kernel's socket reads, about 17 us, are the rest). The same
clients face the live service and the bare server, so the comparison stays fair.

`client_worker` is the target of a spawned client process; it lives here, importable as
`bench.fanout_clients`, so the children need not re-run the benchmark's setup to find it.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import time
from typing import Any

from bench.lean_ws import connect

ELECTION = "bench-fanout"
STAMP = re.compile(rb'"bench_t":([0-9.]+)')
HEAD = re.compile(rb'"channel":"([^"]+)","seq":(\d+)')


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def server_of(client: int, clients: int, servers: int) -> int:
    """Which of `servers` serves client number `client` of `clients`: equal blocks, so
    that each server gets every region (the regions go round-robin over the clients)."""
    return client * servers // clients


async def _client(
    url: str,
    channels: list[str],
    ready: asyncio.Event,
    got: list[float],
    counters: dict[str, int],
    opening: asyncio.Semaphore,
) -> None:
    async with opening:
        ws = await connect(url, timeout=120)  # no extensions: no compression
        for channel in channels:
            ws.send_text(json.dumps({"type": "subscribe", "channel": channel}))
        answered = 0
        while answered < len(channels):
            raw = await ws.recv()
            if raw[:20].find(b'"type":"ping"') < 0:
                answered += 1
    counters["ready"] += 1
    if counters["ready"] == counters["total"]:
        ready.set()
    last: dict[bytes, int] = {}

    def on_message(raw: bytes) -> None:
        head = HEAD.search(raw, 0, 200)
        if head:
            seq = int(head[2])
            if seq <= last.get(head[1], 0):
                counters["backwards"] += 1  # a seq at or below one already received
            last[head[1]] = seq
        found = STAMP.search(raw, 0, 200)
        if found:
            got.append(time.time() - float(found[1]))
            got.append(float(found[1]))
        elif raw.startswith(b'{"type":"ping"'):
            ws.send_text('{"type":"pong"}')

    ws.on_message = on_message
    try:
        await ws.closed.wait()
        counters["closed"] += 1  # lost while running: the stop cancels instead
    finally:
        ws.close()


def client_worker(
    urls: list[str], clients: int, first: int, count: int, regions: list[str], conn: Any
) -> None:
    """Clients `first` .. `first + count - 1` of `clients`, spread over the servers at
    `urls` in equal blocks; reports "ready", then on "stop" the delays and counters."""
    raise_fd_limit()

    async def run() -> None:
        ready = asyncio.Event()
        got: list[float] = []
        counters = {"ready": 0, "total": count, "closed": 0, "backwards": 0}
        opening = asyncio.Semaphore(100)
        tasks = [
            asyncio.create_task(
                _client(
                    urls[server_of(first + i, clients, len(urls))],
                    [
                        f"summary:{ELECTION}",
                        f"region:{ELECTION}:{regions[(first + i) % len(regions)]}",
                    ],
                    ready,
                    got,
                    counters,
                    opening,
                )
            )
            for i in range(count)
        ]
        await ready.wait()
        conn.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
        conn.send({"got": got, "closed": counters["closed"], "backwards": counters["backwards"]})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
