"""One websocket connection: admission, then its receive and send loops.

The two loops run in one task group; the first to end (client gone, a
named `Disconnect`, server shutting down) cancels the other, the session
closes with the named code, and the connection leaves the hub.

- receive: parses each client frame; a bad one is answered with an error
  frame and the connection carries on. A subscription to a race or region
  that the loaded election lacks is one (`unknown_channel`, known_races.py);
  so is any channel of an election no definition has (`unknown_election`).
  Subscribing holds the channel in the mailbox and registers with the hub
  *before* reading the snapshot, so no update can fall between them or
  overtake it (see subscription.py).
- send: drains the mailbox. Only this connection's writer ever waits on its
  socket; the hub never does (its direct writes, direct.py, happen only
  while this writer is idle and the socket's buffer has room).
- timers (`check`, called by the process's watchdog.py every tick): a
  `ping` frame every ping interval; no client frame within the pong timeout
  after it: close 4001 "no_pong"; a single send blocked longer than the send
  deadline (the client is not reading): close 4008 "slow".

Refused connections (origin, unknown token, too many from one address) are
accepted and closed at once with their named code, so that browsers, which
cannot see an HTTP refusal, learn why.

A session sees its connection only as a `Socket` (Starlette's `WebSocket`
is one) and the views only through the `ViewStore` port, so all of the above
runs in memory in tests/unit/test_live_session.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Protocol

from starlette.websockets import WebSocketDisconnect
from votewire.live import close_codes
from votewire.live.access import presented_token
from votewire.live.close_codes import SLOW, CloseCode, Disconnect
from votewire.live.context import LiveContext
from votewire.live.direct import SCOPE_KEY
from votewire.live.mailbox import Mailbox, QueueFull
from votewire.live.protocol import (
    Ping,
    Pong,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    control,
    parse_client_frame,
)
from votewire.live.subscription import open_channel
from votewire.live.view_store import ViewsUnavailable

log = logging.getLogger(__name__)


class Socket(Protocol):
    """What a session uses of its websocket connection."""

    scope: MutableMapping[str, Any]

    @property
    def client(self) -> Any:
        """The peer's address (with `.host`), or None."""
        ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query_params(self) -> Mapping[str, str]: ...

    async def accept(self) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...
    async def receive(self) -> MutableMapping[str, Any]: ...
    async def send_bytes(self, data: bytes) -> None: ...


class ClientGone(Exception):
    """The client closed the connection or it broke; nothing more to send."""


class Session:
    def __init__(
        self, websocket: Socket, ctx: LiveContext, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.websocket = websocket
        self.ctx = ctx
        self.limits = ctx.limits
        self.clock = clock
        direct = websocket.scope.get(SCOPE_KEY) if ctx.limits.direct_writes else None
        self.mailbox = Mailbox(ctx.limits.queue_max_bytes, direct.write if direct else None)
        self.channels: set[str] = set()
        self.address = websocket.client.host if websocket.client else "unknown"
        self.reader = ctx.access.reader(presented_token(websocket.headers, websocket.query_params))
        self.last_heard = clock()
        self.next_ping = self.last_heard + ctx.limits.ping_interval_s
        self.ping_sent_at: float | None = None
        self.sending_since: float | None = None
        self.abort: CloseCode | None = None
        self._sender: asyncio.Task[None] | None = None

    def _refusal(self) -> CloseCode | None:
        headers = self.websocket.headers
        if self.reader is None:
            return close_codes.FORBIDDEN
        if not self.ctx.access.origin_allowed(headers.get("origin"), headers.get("host")):
            return close_codes.FORBIDDEN
        if not self.ctx.connections.acquire(self.address):
            return close_codes.TOO_MANY_CONNECTIONS
        return None

    async def run(self) -> None:
        refusal = self._refusal()
        await self.websocket.accept()
        if refusal is not None:
            await self._close(refusal)
            return
        self.ctx.sessions += 1
        self.ctx.watchdog.watch(self)
        close: CloseCode | None = None
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive_loop())
                self._sender = group.create_task(self._send_loop())
        except* Disconnect as caught:
            first = caught.exceptions[0]
            close = first.close if isinstance(first, Disconnect) else SLOW
        except* ClientGone:
            pass
        except* Exception:
            log.exception("live session failed")
            close = close_codes.INTERNAL_ERROR
        finally:
            # Leave the hub first: a close may wait on a stuck socket for a while.
            self.ctx.watchdog.forget(self)
            self.ctx.hub.drop(self.mailbox)
            self.ctx.connections.release(self.address)
            self.ctx.sessions -= 1
        if close is not None:
            await self._close(close)

    async def _close(self, close: CloseCode) -> None:
        self.ctx.closes[close.reason] += 1
        # A stuck client's socket may never drain: do not wait on it for long.
        deadline = max(self.limits.close_deadline_s, self.limits.send_deadline_s)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(deadline):
                await self.websocket.close(close.code, close.reason)

    def _reply(self, frame: bytes) -> None:
        try:
            self.mailbox.put_reply(frame)
        except QueueFull as exc:
            raise Disconnect(close_codes.SLOW, str(exc)) from None

    async def _send_loop(self) -> None:
        try:
            while True:
                for frame in await self.mailbox.take():
                    self.sending_since = self.clock()
                    await self.websocket.send_bytes(frame)
                    self.sending_since = None
                    self.ctx.frames_sent += 1
        except asyncio.CancelledError:
            if self.abort is None:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # our own cancellation (see `check`), not the group's
            raise Disconnect(self.abort) from None
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            raise ClientGone() from exc

    def check(self, now: float) -> None:
        """The watchdog's look at this connection: ping, or give up on it."""
        if self.abort is not None:
            return
        sending = self.sending_since
        if sending is not None and now - sending > self.limits.send_deadline_s:
            self._give_up(close_codes.SLOW)
        elif self.ping_sent_at is not None and self.last_heard < self.ping_sent_at:
            if now - self.ping_sent_at > self.limits.pong_timeout_s:
                self._give_up(close_codes.NO_PONG)
        elif now >= self.next_ping:
            self.ping_sent_at, self.next_ping = now, now + self.limits.ping_interval_s
            try:
                self.mailbox.put_reply(self._ping_frame)
            except QueueFull:
                self._give_up(close_codes.SLOW)

    def _give_up(self, close: CloseCode) -> None:
        self.abort = close
        if self._sender is not None:
            self._sender.cancel()

    @property
    def _ping_frame(self) -> bytes:
        return control("ping", interval_ms=round(self.limits.ping_interval_s * 1000))

    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise ClientGone()
            self.last_heard = self.clock()
            try:
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8")
                await self._handle(parse_client_frame(text, self.limits.max_frame_bytes))
            except UnicodeDecodeError:
                self._reply(ProtocolError("malformed_frame", "not UTF-8").frame())
            except ProtocolError as exc:
                self._reply(exc.frame())

    async def _handle(self, frame: Subscribe | Unsubscribe | Ping | Pong) -> None:
        if isinstance(frame, Ping):
            self._reply(control("pong"))
        elif isinstance(frame, Unsubscribe):
            self.channels.discard(frame.channel)
            self.ctx.hub.unsubscribe(frame.channel, self.mailbox)
            self._reply(control("unsubscribed", channel=frame.channel))
        elif isinstance(frame, Subscribe):
            await self._subscribe(frame)

    async def _subscribe(self, frame: Subscribe) -> None:
        channel = frame.channel
        assert self.reader is not None  # refused at admission otherwise
        if not self.ctx.access.may_read(self.reader, channel):
            raise ProtocolError("forbidden", "this channel needs a read token", channel)
        if channel not in self.channels and len(self.channels) >= self.limits.max_channels:
            limit = self.limits.max_channels
            raise ProtocolError("too_many_channels", f"at most {limit} channels", channel)
        try:
            unknown = await self.ctx.unknown(channel)
        except ViewsUnavailable as exc:
            log.warning("cannot check channel %s: %s", channel, exc)
            raise ProtocolError("unavailable", "views are unreachable; retry", channel) from None
        if unknown is not None:
            code = "unknown_election" if unknown.code == "unknown_election" else "unknown_channel"
            raise ProtocolError(code, unknown.message, channel)
        self.channels.add(channel)
        self.mailbox.hold(channel)
        self.ctx.hub.subscribe(channel, self.mailbox)
        try:
            await open_channel(self.ctx.views_for(channel), self.mailbox, frame)
        except QueueFull as exc:
            raise Disconnect(close_codes.SLOW, str(exc)) from None
        except ViewsUnavailable as exc:
            log.warning("cannot read channel %s: %s", channel, exc)
            self.channels.discard(channel)
            self.ctx.hub.unsubscribe(channel, self.mailbox)
            raise ProtocolError("unavailable", "views are unreachable; retry", channel) from None
        finally:
            self.mailbox.release(channel)
