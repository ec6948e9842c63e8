"""A newsroom's client of the votewire live protocol (docs/live-protocol.md).

Follows channels over one websocket and prints each change. It keeps the
(seq, epoch) of every channel, ignores anything at or below what it holds
(no number ever goes backwards), answers server pings, pings the server
itself, and on any disconnect reconnects with backoff and resumes each
channel from where it was: the server replays exactly what was missed, or
sends a snapshot flagged `resync` if it cannot.

    python examples/live_client.py summary:kz-2021-rural-akims \\
        race:kz-2021-rural-akims:akmola-001 --url ws://127.0.0.1:8082/v1/live

Only needs the `websockets` package (pip install websockets). Use
`LiveFollower` from your own code: `on_view(channel, view, frame)` is
called with every new view; `frame["resync"]` is true when continuity was
lost (replace, don't diff).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FINAL_CLOSES = {4003}
"""Close codes after which retrying unchanged cannot help (forbidden)."""
SLOW_CLOSES = {4008, 4029}
"""Close codes that ask for a longer pause before reconnecting."""

OnView = Callable[[str, dict[str, Any] | None, dict[str, Any]], None]


@dataclass
class Position:
    seq: int | None = None
    epoch: str | None = None


@dataclass
class LiveFollower:
    url: str
    channels: list[str]
    on_view: OnView
    token: str | None = None
    ping_every_s: float = 10.0
    positions: dict[str, Position] = field(default_factory=dict)
    updates: int = 0

    async def run(self, max_updates: int | None = None) -> None:
        """Follow until cancelled (or `max_updates` views were delivered)."""
        attempt = 0
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        while True:
            try:
                async with connect(self.url, additional_headers=headers, max_size=None) as ws:
                    attempt = 0
                    if await self._session(ws, max_updates):
                        return
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else 1006
                reason = closed.rcvd.reason if closed.rcvd else "connection lost"
                if code in FINAL_CLOSES:
                    raise SystemExit(f"refused by the server: {code} {reason}") from None
                print(f"# disconnected ({code} {reason}); reconnecting", file=sys.stderr)
                base = 5.0 if code in SLOW_CLOSES else 0.5
            except OSError as exc:
                print(f"# cannot connect ({exc}); retrying", file=sys.stderr)
                base = 0.5
            attempt += 1
            await asyncio.sleep(min(30.0, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5))

    async def _session(self, ws: ClientConnection, max_updates: int | None) -> bool:
        for channel in self.channels:
            held = self.positions.setdefault(channel, Position())
            frame: dict[str, Any] = {"type": "subscribe", "channel": channel}
            if held.seq is not None and held.epoch is not None:
                frame["resume"] = {"seq": held.seq, "epoch": held.epoch}
            await ws.send(json.dumps(frame))
        pinger = asyncio.create_task(self._ping(ws))
        try:
            async for raw in ws:
                self._handle(ws, json.loads(raw))
                if max_updates is not None and self.updates >= max_updates:
                    return True
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger
        return False

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.ping_every_s)
            await ws.send('{"type":"ping"}')

    def _handle(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "ping":
            asyncio.get_running_loop().create_task(ws.send('{"type":"pong"}'))
        elif kind in ("snapshot", "update"):
            held = self.positions[frame["channel"]]
            if held.epoch == frame["epoch"] and held.seq is not None and frame["seq"] <= held.seq:
                return  # already have it (or newer): never go backwards
            held.seq, held.epoch = frame["seq"], frame["epoch"]
            self.updates += 1
            self.on_view(frame["channel"], frame["view"], frame)
        elif kind == "subscribed" and frame.get("empty"):
            held = self.positions[frame["channel"]]
            held.seq, held.epoch = 0, None
            if frame.get("resync"):
                self.on_view(frame["channel"], None, frame)
        elif kind == "error":
            print(
                f"# error {frame['code']}: {frame['message']} {frame.get('channel', '')}",
                file=sys.stderr,
            )


def describe(channel: str, view: dict[str, Any] | None, frame: dict[str, Any]) -> str:
    """One human line about a view."""
    head = f"{channel} seq={frame.get('seq')}" + (" RESYNC" if frame.get("resync") else "")
    if view is None:
        return f"{head} (no view)"
    parts = []
    if "precincts_total" in view:
        parts.append(f"precincts {view.get('precincts_reporting', '?')}/{view['precincts_total']}")
    if view.get("turnout_pct") is not None:
        parts.append(f"turnout {view['turnout_pct']}%")
    if view.get("candidates"):
        top = view["candidates"][0]
        parts.append(f"leading {top['name']} {top['votes']} ({top['pct']}%) [{view['status']}]")
    if view.get("races"):
        parts.append(f"{len(view['races'])} races")
    return f"{head} " + ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Follow votewire live channels.")
    parser.add_argument(
        "channels", nargs="+", help="e.g. summary:<election> race:<election>:<race>"
    )
    parser.add_argument("--url", default="ws://127.0.0.1:8082/v1/live")
    parser.add_argument("--token", help="read token for private channels")
    parser.add_argument("--json", action="store_true", help="print each view as one JSON line")
    parser.add_argument("--max-updates", type=int, help="exit after this many views")
    args = parser.parse_args(argv)

    def show(channel: str, view: dict[str, Any] | None, frame: dict[str, Any]) -> None:
        if args.json:
            print(
                json.dumps(
                    {"channel": channel, "seq": frame.get("seq"), "view": view}, ensure_ascii=False
                ),
                flush=True,
            )
        else:
            print(describe(channel, view, frame), flush=True)

    follower = LiveFollower(args.url, args.channels, show, token=args.token)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follower.run(args.max_updates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
