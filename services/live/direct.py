"""Updates framed once, written straight to every idle subscriber's socket.

An update goes to thousands of connections. Through ASGI each copy costs a
wake-up of the connection's writer task, a `websocket.send` message through
Starlette and uvicorn, and a websocket frame built again for every socket:
about 40 µs of CPU per copy (bench/bench_fanout.py), against 15 µs for a bare
`websockets.broadcast`. Yet the frame is the same bytes for everyone (server
frames are unmasked, and compression is off). So the hub frames each update
once (`binary_frame`) and, for a connection whose writer is idle, hands those
bytes to the socket's transport at once (`DirectSocket.write`), with no task
switch. Anything else, a connection that is busy, held for a snapshot, or
whose socket buffer is above its high-water mark, goes through the mailbox
and the writer task as before (mailbox.py), so ordering, conflation and the
slow-client deadline are unchanged.

`DirectSocket.of(send)` recognises uvicorn's websockets-sansio protocol (what
`votewire serve live` runs) behind the ASGI `send` callable; under any other
server it returns None and every frame takes the ASGI path. `capture` is the
ASGI middleware that records it in the connection's scope before Starlette
wraps `send`. The attributes used are checked once per connection; a uvicorn
that renamed them is met with the ASGI path, not an error
(tests/integration/test_live_protocol.py fails if the direct path is lost).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from websockets.protocol import State

SCOPE_KEY = "votewire.direct_socket"
"""Where `capture` puts the connection's DirectSocket (or None) in the ASGI scope."""

_PROTOCOL_ATTRIBUTES = ("transport", "writable", "close_sent", "handshake_complete", "conn")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def binary_frame(payload: bytes) -> bytes:
    """`payload` as one unmasked, final, binary websocket frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x82, n))
    elif n < 1 << 16:
        head = b"\x82\x7e" + n.to_bytes(2, "big")
    else:
        head = b"\x82\x7f" + n.to_bytes(8, "big")
    return head + payload


class DirectSocket:
    """Writes whole frames to one uvicorn websocket connection, never blocking."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, send: Any) -> DirectSocket | None:
        """The DirectSocket behind an ASGI `send`, if uvicorn's sansio protocol is."""
        try:
            from uvicorn.protocols.websockets.websockets_sansio_impl import (
                WebSocketsSansIOProtocol,
            )
        except ImportError:
            return None
        protocol = getattr(send, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
        if not all(hasattr(protocol, name) for name in _PROTOCOL_ATTRIBUTES):
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write `frame` (from `binary_frame`) now, if the connection is open, negotiated
        no extension, and its transport is below the high-water mark. False: not written;
        the caller queues it for the connection's writer instead."""
        p = self._protocol
        if (
            p.close_sent
            or not p.handshake_complete
            or not p.writable.is_set()
            or p.conn.state is not State.OPEN
            or p.conn.extensions
            or p.transport.is_closing()
        ):
            return False
        p.transport.write(frame)
        return True


def capture(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: record each websocket connection's DirectSocket in its scope."""

    async def middleware(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = DirectSocket.of(send)
        await app(scope, receive, send)

    return middleware
