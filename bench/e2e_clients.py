"""The client processes of `bench_e2e.py`: websocket clients that record, per
channel, when each newer version first arrived (wall clock), cheaply.

Each process runs `client_worker`: it opens its clients (at most 100 opening
at once), subscribes each to its channels, says "ready" on the pipe once every
subscription is answered, then waits for the final version per channel, reads
frames until it has seen them (deadline 120 s), and sends back what it saw.
Frames are read with a regex on their head, not parsed, by lean RFC 6455
readers (`bench/lean_ws.py`) that hand each frame to a plain callback: the
clients share the machine's 2 cores with the services under test, and the
`websockets` asyncio client's cost per received frame (a generator-based
parser, a frame queue, a future and a task wake-up per message) took CPU
from them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe

from bench.fanout_clients import raise_fd_limit
from bench.lean_ws import LeanWebSocket, connect

HEAD = re.compile(rb'"channel":"([^"]+)","seq":(\d+),"epoch":"[^"]*","version":(\d+)')


@dataclass
class Shared:
    """What the clients of one process have seen."""

    total: int
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    subscribed: int = 0
    frames: int = 0
    backwards: int = 0
    closed: int = 0
    top: dict[bytes, int] = field(default_factory=dict)
    firsts: dict[bytes, list[tuple[float, int]]] = field(default_factory=dict)


async def _client(
    url: str, channels: list[str], shared: Shared, opening: asyncio.Semaphore
) -> None:
    async with opening:
        ws: LeanWebSocket = await connect(url, timeout=120)  # no extensions: no compression
        for channel in channels:
            ws.send_text(json.dumps({"type": "subscribe", "channel": channel}))
        answered = 0
        while answered < len(channels):  # nothing is published yet: `subscribed` answers
            raw = await ws.recv()
            answered += not raw[:20].startswith(b'{"type":"ping"')
    shared.subscribed += 1
    if shared.subscribed == shared.total:
        shared.ready.set()
    last: dict[bytes, int] = {}

    def on_message(raw: bytes) -> None:
        at = time.time()
        head = HEAD.search(raw, 0, 300)
        if head:
            shared.frames += 1
            channel, seq, version = head[1], int(head[2]), int(head[3])
            if seq <= last.get(channel, 0):
                shared.backwards += 1  # a seq at or below one already received
            last[channel] = seq
            if version > shared.top.get(channel, 0):
                shared.top[channel] = version
                shared.firsts.setdefault(channel, []).append((at, version))
        elif raw.startswith(b'{"type":"ping"'):
            ws.send_text('{"type":"pong"}')

    ws.on_message = on_message
    try:
        await ws.closed.wait()
        shared.closed += 1  # lost while running: the end cancels instead
    finally:
        ws.close()


def client_worker(url: str, lists: list[list[str]], conn: Pipe) -> None:
    """One client process: `lists[i]` are the channels of its client i."""
    raise_fd_limit()

    async def run() -> None:
        shared = Shared(len(lists))
        opening = asyncio.Semaphore(100)
        tasks = [asyncio.create_task(_client(url, c, shared, opening)) for c in lists]
        await shared.ready.wait()
        conn.send("ready")
        loop = asyncio.get_running_loop()
        targets: dict[str, int] = await loop.run_in_executor(None, conn.recv)
        mine = {c.encode() for channels in lists for c in channels}
        want = {c.encode(): v for c, v in targets.items() if c.encode() in mine}
        deadline = time.monotonic() + 120
        behind = list(want)
        while behind and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # deadline-poll: the last frames are in flight
            behind = [c for c, v in want.items() if shared.top.get(c, 0) < v]
        firsts = {c.decode(): f for c, f in shared.firsts.items()}
        counts = {"backwards": shared.backwards, "closed": shared.closed, "behind": len(behind)}
        conn.send({"firsts": firsts, "frames": shared.frames, **counts})
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
