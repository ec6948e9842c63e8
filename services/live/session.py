"""One websocket connection: its receive loop and its send loop.

The two loops run in one task group; the first to finish (client gone, bad
state, server shutting down) cancels the other, and the connection leaves the
hub. Subscribing registers with the hub *before* reading the snapshot, so no
update can fall between them; the mailbox drops anything at or below the
sequence the client already has.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect

from services.infra.redis_views import RedisViews
from services.live.hub import Hub, Mailbox
from services.live.protocol import (
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    control,
    parse_client_frame,
)

MAX_CHANNELS = 64


class Session:
    def __init__(self, websocket: WebSocket, hub: Hub, views: RedisViews) -> None:
        self.websocket = websocket
        self.hub = hub
        self.views = views
        self.mailbox = Mailbox()
        self.channels: set[str] = set()

    async def run(self) -> None:
        await self.websocket.accept()
        try:
            async with asyncio.TaskGroup() as group:
                receiver = group.create_task(self._receive_loop())
                sender = group.create_task(self._send_loop())
                receiver.add_done_callback(lambda _: sender.cancel())
        except* (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the client went away; nothing to tell it
        finally:
            self.hub.drop(self.mailbox)
            with contextlib.suppress(RuntimeError):
                await self.websocket.close()

    async def _send_loop(self) -> None:
        while True:
            for frame in await self.mailbox.take():
                await self.websocket.send_bytes(frame)

    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", errors="replace")
            try:
                frame = parse_client_frame(text or "")
                await self._handle(frame)
            except ProtocolError as exc:
                self.mailbox.put_control(control("error", code=exc.code, message=str(exc)))

    async def _handle(self, frame: Subscribe | Unsubscribe | Ping) -> None:
        if isinstance(frame, Ping):
            self.mailbox.put_control(control("pong"))
        elif isinstance(frame, Unsubscribe):
            self.channels.discard(frame.channel)
            self.hub.unsubscribe(frame.channel, self.mailbox)
            self.mailbox.put_control(control("unsubscribed", channel=frame.channel))
        else:
            await self._subscribe(frame)

    async def _subscribe(self, frame: Subscribe) -> None:
        channel = frame.channel
        if channel not in self.channels and len(self.channels) >= MAX_CHANNELS:
            raise ProtocolError("too_many_channels", f"at most {MAX_CHANNELS} channels")
        self.channels.add(channel)
        self.hub.subscribe(channel, self.mailbox)
        stored = await self.views.get_view(channel)
        if stored is None:
            self.mailbox.put_control(control("subscribed", channel=channel, seq=0, empty=True))
            return
        if frame.resume_seq is not None and frame.resume_epoch == stored.epoch:
            missed = await self.views.updates_since(channel, frame.resume_seq)
            if missed is not None:
                self.mailbox.put_control(
                    control("subscribed", channel=channel, seq=frame.resume_seq, resumed=True)
                )
                for _, update in missed:
                    self.mailbox.put_control(update)
                self.mailbox.mark_sent(channel, missed[-1][0] if missed else frame.resume_seq)
                return
        resync = frame.resume_seq is not None
        self.mailbox.put_control(stored.snapshot_message(resync=resync))
        self.mailbox.mark_sent(channel, stored.seq)
