"""A lean RFC 6455 websocket client for the benchmarks' thousands of clients.

The clients share the machine with the server they measure, so every microsecond a
client spends per frame is taken from that server. This one is an `asyncio.Protocol`
that parses frames in `data_received` and hands each message, as `bytes`, to a plain
callback: no task, future or queue per frame. It speaks only what the benchmarks need:
`ws://` URLs, no extensions (so no compression), no UTF-8 check, no size limit.

    ws = await connect("ws://127.0.0.1:8080/v1/live")
    ws.send_text('{"type":"subscribe","channel":"summary:x"}')
    answer = await ws.recv()  # messages queue for recv() until on_message is set
    ws.on_message = handle  # then handle(payload) is called for each message
    await ws.closed.wait()  # set once the connection is gone
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD = 65536  # bytes of HTTP response head before the handshake is refused


class LeanError(Exception):
    """Base of this module's errors."""


class HandshakeError(LeanError):
    """The server did not answer the upgrade with a valid `101 Switching Protocols`."""


class ProtocolError(LeanError):
    """The server broke RFC 6455 framing; the connection is failed (close code 1002)."""


class LeanClosed(LeanError):
    """The connection is gone (closed by either side, or failed)."""


def accept_of(key: bytes) -> bytes:
    """The Sec-WebSocket-Accept a server must answer to Sec-WebSocket-Key `key`."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def mask(payload: bytes, key: bytes) -> bytes:
    """`payload` XOR the 4-byte `key` repeated (masking and unmasking are the same)."""
    n = len(payload)
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame, masked with a fresh random key."""
    n, key = len(payload), os.urandom(4)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
    return head + key + mask(payload, key)


class LeanWebSocket(asyncio.Protocol):
    """One client connection, made by `connect`. One `recv` at a time. `closed` is set
    once the connection is lost, whoever ended it; `close_reason` is then the error that
    failed it, if any (a `ProtocolError`, or what `on_message` raised)."""

    _transport: asyncio.Transport

    def __init__(self, request: bytes, key: bytes) -> None:
        self._request, self._accept = request, accept_of(key)
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._open = self._close_sent = False
        self._buf = bytearray()
        self._need = 0  # bytes `_buf` must hold before what it starts with can be complete
        self._parts: list[bytes] | None = None  # a fragmented message's frames so far
        self._queue: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._on_message: Callable[[bytes], None] | None = None
        self.closed = asyncio.Event()
        self.close_reason: BaseException | None = None

    @property
    def on_message(self) -> Callable[[bytes], None] | None:
        """Once set, called synchronously with each message, queued ones first; while
        None, messages queue for `recv`. Must not raise: that fails the connection."""
        return self._on_message

    @on_message.setter
    def on_message(self, callback: Callable[[bytes], None] | None) -> None:
        self._on_message = callback
        while callback is not None and self._queue:
            callback(self._queue.popleft())

    async def recv(self) -> bytes:
        """The next queued message; `LeanClosed` once none is left and the connection
        is gone."""
        while not self._queue:
            if self.closed.is_set():
                raise LeanClosed("connection closed") from self.close_reason
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def send_text(self, text: str) -> None:
        """Write `text` as one masked text frame; `LeanClosed` if closing or gone."""
        self._write(1, text.encode())

    def close(self, code: int = 1000) -> None:
        """Send a close frame (once, if open) and close the transport; harmless when
        already closed. `closed` is set when the transport is lost."""
        if not self._transport.is_closing():
            self._send_close(struct.pack("!H", code))
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close_reason = self.close_reason or exc
        if not self._opened.done():
            self._opened.set_exception(HandshakeError(f"connection lost in handshake: {exc}"))
        self.closed.set()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._buf:  # a frame (or the response head) is split over reads: wait for it all
            self._buf += data
            if len(self._buf) < self._need:
                return
            data = bytes(self._buf)
            self._buf.clear()
        try:
            if not self._open:
                start = self._handshake(data)
                if start < 0:
                    self._buf += data
                    return
                data = data[start:]
            pos = self._frames(data)
        except Exception as exc:  # a HandshakeError or ProtocolError, or on_message raised
            self.close_reason = exc
            if not self._opened.done():
                self._opened.set_exception(exc)
            self.close(1002 if isinstance(exc, ProtocolError) else 1011)
            return
        if pos < len(data):
            self._buf += memoryview(data)[pos:]

    def _handshake(self, data: bytes) -> int:
        """Check the response head if `data` holds all of it: the offset of what follows
        (frames), or -1 while the head is incomplete."""
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > MAX_HEAD:
                raise HandshakeError(f"no end of the response head in {len(data)} bytes")
            self._need = len(data) + 1
            return -1
        status, *lines = data[:end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        if status.split(" ", 2)[1:2] != ["101"]:
            raise HandshakeError(f"server answered {status!r}, not 101")
        if headers.get("upgrade", "").lower() != "websocket":
            raise HandshakeError(f"Upgrade: {headers.get('upgrade')!r}, not websocket")
        if headers.get("sec-websocket-accept", "").encode() != self._accept:
            raise HandshakeError("Sec-WebSocket-Accept does not match the key")
        if headers.get("sec-websocket-extensions"):
            raise HandshakeError("the server enabled extensions that were not offered")
        self._open = True
        self._opened.set_result(None)
        return end + 4

    def _frames(self, data: bytes) -> int:
        """Handle the complete frames `data` starts with: the offset of the first
        incomplete one (or the end)."""
        pos, size = 0, len(data)
        while size - pos >= 2:
            b0, b1 = data[pos], data[pos + 1]
            length, start = b1 & 0x7F, pos + 2
            if length >= 126:
                start += 2 if length == 126 else 8
                if start > size:
                    self._need = start - pos
                    return pos
                (length,) = struct.unpack_from("!H" if length == 126 else "!Q", data, pos + 2)
            end = start + length
            if end > size:
                self._need = end - pos
                return pos
            if b1 & 0x80:
                raise ProtocolError("a server frame is masked")
            if b0 & 0x70:
                raise ProtocolError("reserved bits set, but no extension was negotiated")
            pos = end
            if not self._frame(b0 & 0x80, b0 & 0x0F, data[start:end]):
                return size  # closing: the rest is not read
        self._need = 2
        return pos

    def _frame(self, fin: int, opcode: int, payload: bytes) -> bool:
        """Handle one frame; False once the connection is closing."""
        if opcode in (1, 2) and self._parts is None:
            if not fin:
                self._parts = [payload]
                return True
        elif opcode == 0 and self._parts is not None:
            self._parts.append(payload)
            if not fin:
                return True
            payload, self._parts = b"".join(self._parts), None
        elif opcode >= 8 and fin and len(payload) < 126:
            if opcode == 8:
                if len(payload) == 1:
                    raise ProtocolError("a close frame with a 1-byte body")
                self._send_close(payload[:2])  # echo the status code
                self._transport.close()
                return False
            if opcode == 9:
                self._write(10, payload)
            return True  # a pong (10) is ignored
        else:
            raise ProtocolError(f"unexpected frame: opcode {opcode}, fin {bool(fin)}")
        if self._on_message is not None:
            self._on_message(payload)
            return not self._transport.is_closing()  # it may have closed the connection
        self._queue.append(payload)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return True

    def _write(self, opcode: int, payload: bytes) -> None:
        if self._transport.is_closing():
            raise LeanClosed("connection closed")
        self._transport.write(client_frame(opcode, payload))

    def _send_close(self, body: bytes) -> None:
        if self._open and not self._close_sent:
            self._close_sent = True
            self._transport.write(client_frame(8, body))


async def connect(url: str, timeout: float = 120) -> LeanWebSocket:  # noqa: ASYNC109 (covers TCP and handshake)
    """An open connection to `url` (`ws://host[:port]/path[?query]`) once the server has
    accepted the upgrade. Raises `HandshakeError` if it did not, `TimeoutError` after
    `timeout` seconds, `OSError` if the TCP connection failed."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise ValueError(f"not a ws:// URL: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout):
        _, ws = await loop.create_connection(
            lambda: LeanWebSocket(request, key), parts.hostname, parts.port or 80
        )
        try:
            await ws._opened
        except BaseException:
            ws.close()
            raise
    return ws
