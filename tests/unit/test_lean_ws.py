"""The benchmarks' lean websocket client (`bench/lean_ws.py`): handshake, framing split
over any reads, fragments, control frames, masking, and a real `websockets` server."""

from __future__ import annotations

import asyncio
import random
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `bench` is not installed

from bench.lean_ws import (
    HandshakeError,
    LeanClosed,
    LeanWebSocket,
    ProtocolError,
    accept_of,
    client_frame,
    connect,
    mask,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key


def response(accept: bytes = accept_of(KEY), status: str = "101 Switching Protocols") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept.decode()}\r\n\r\n"
    ).encode()


def server_frame(opcode: int, payload: bytes, fin: bool = True, key: bytes | None = None) -> bytes:
    """A frame as a server sends it (unmasked unless `key`), with the shortest length."""
    n, b0 = len(payload), (0x80 if fin else 0) | opcode
    m = 0x80 if key else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    return head + key + mask(payload, key) if key else head + payload


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(first byte, unmasked payload) of each client frame in `data`; all must be masked."""
    frames, pos = [], 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        assert b1 & 0x80, "a client frame must be masked"
        n, pos = b1 & 0x7F, pos + 2
        if n == 126:
            ((n,), pos) = struct.unpack_from("!H", data, pos), pos + 2
        elif n == 127:
            ((n,), pos) = struct.unpack_from("!Q", data, pos), pos + 8
        key, pos = data[pos : pos + 4], pos + 4
        frames.append((b0, mask(data[pos : pos + n], key)))
        pos += n
    return frames


class FakeTransport(asyncio.Transport):
    """Keeps what is written; `close` reports the loss on the next loop turn, as asyncio's."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self.protocol, self.written, self.closing = protocol, bytearray(), False

    def write(self, data: Any) -> None:
        assert not self.closing
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)


def made() -> tuple[LeanWebSocket, FakeTransport]:
    """A client whose request went out; nothing answered yet."""
    ws = LeanWebSocket(b"GET / HTTP/1.1\r\n\r\n", KEY)
    transport = FakeTransport(ws)
    ws.connection_made(transport)
    assert transport.written == b"GET / HTTP/1.1\r\n\r\n"
    transport.written.clear()
    return ws, transport


def opened() -> tuple[LeanWebSocket, FakeTransport]:
    ws, transport = made()
    ws.data_received(response())
    assert ws._opened.done() and ws._opened.exception() is None
    return ws, transport


def drain(ws: LeanWebSocket) -> list[bytes]:
    got: list[bytes] = []
    ws.on_message = got.append
    return got


def test_the_accept_key_is_rfc_6455s_example() -> None:
    assert accept_of(KEY) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (response(accept=b"d3Jvbmc="), "does not match"),
        (response(status="200 OK"), "not 101"),
        (response().replace(b"websocket", b"h2c"), "not websocket"),
        (response()[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "extensions"),
    ],
)
async def test_a_bad_handshake_answer_is_refused(answer: bytes, why: str) -> None:
    ws, transport = made()
    ws.data_received(answer)
    with pytest.raises(HandshakeError, match=why):
        await ws._opened
    assert transport.closing and not transport.written  # no close frame before the upgrade
    await ws.closed.wait()


async def test_frames_of_every_length_survive_any_split_over_reads() -> None:
    """7-, 16- and 64-bit lengths, the response head too, cut at random offsets (and
    every byte for the small ones); payloads arrive whole, in order, as bytes."""
    sizes = [0, 1, 125, 126, 127, 4000, 65535, 65536, 70001]
    payloads = [bytes(random.Random(n).randbytes(n)) for n in sizes]
    stream = response() + b"".join(server_frame(1 + i % 2, p) for i, p in enumerate(payloads))
    rng = random.Random(6455)
    for trial in range(40):
        ws, _ = made()
        got = drain(ws)
        if trial == 0:
            cuts = list(range(1, 600))  # byte by byte through the head and the small frames
        else:
            cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 60)))
        for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            ws.data_received(stream[a:b])
        assert got == payloads
        assert all(type(p) is bytes for p in got)
        assert not ws._buf


async def test_fragments_are_assembled_around_control_frames() -> None:
    ws, transport = opened()
    got = drain(ws)
    ws.data_received(
        server_frame(1, b"ab", fin=False)
        + server_frame(9, b"p")  # a ping between fragments
        + server_frame(0, b"cd", fin=False)
        + server_frame(10, b"")  # a pong: ignored
        + server_frame(0, b"ef")
        + server_frame(2, b"\x00\xff")
    )
    assert got == [b"abcdef", b"\x00\xff"]
    assert client_frames(bytes(transport.written)) == [(0x8A, b"p")]


async def test_a_ping_is_answered_by_a_masked_pong_with_its_payload() -> None:
    ws, transport = opened()
    ws.data_received(server_frame(9, b"are you there"))
    written = bytes(transport.written)
    assert written[:2] == b"\x8a\x8d"  # FIN + pong; masked, 13 bytes
    assert mask(written[6:], written[2:6]) == b"are you there"


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 125, 126, 1000, 65535, 65536, 100003])
def test_masking_round_trips_and_matches_the_rfc(size: int) -> None:
    payload, key = random.Random(size).randbytes(size), b"\x01\x80\xfe\x37"
    masked = mask(payload, key)
    assert masked == bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert mask(masked, key) == payload
    ((b0, unmasked),) = client_frames(client_frame(1, payload))
    assert (b0, unmasked) == (0x81, payload)


async def test_send_text_writes_one_masked_text_frame() -> None:
    ws, transport = opened()
    ws.send_text('{"type":"pong"}')
    assert client_frames(bytes(transport.written)) == [(0x81, b'{"type":"pong"}')]


async def test_a_masked_server_frame_fails_the_connection() -> None:
    ws, transport = opened()
    got = drain(ws)
    ws.data_received(server_frame(1, b"ok") + server_frame(1, b"masked", key=b"abcd"))
    assert got == [b"ok"]
    assert isinstance(ws.close_reason, ProtocolError)
    assert client_frames(bytes(transport.written)) == [(0x88, struct.pack("!H", 1002))]
    await ws.closed.wait()
    with pytest.raises(LeanClosed):
        await ws.recv()


@pytest.mark.parametrize(
    "frames",
    [
        server_frame(0, b"x"),  # a continuation with nothing to continue
        server_frame(1, b"a", fin=False) + server_frame(1, b"b"),  # a new message inside one
        server_frame(9, b"", fin=False),  # a fragmented control frame
        server_frame(9, b"x" * 126),  # a control frame over 125 bytes
        server_frame(3, b""),  # a reserved opcode
        bytes([0xC1, 0]),  # RSV1 without an extension
    ],
)
async def test_framing_errors_fail_the_connection(frames: bytes) -> None:
    ws, _ = opened()
    ws.data_received(frames)
    assert isinstance(ws.close_reason, ProtocolError)
    await ws.closed.wait()


async def test_a_close_frame_is_answered_and_queued_messages_come_first() -> None:
    ws, transport = opened()
    ws.data_received(
        server_frame(1, b"last") + server_frame(8, struct.pack("!H", 1001)) + b"after close"
    )
    assert client_frames(bytes(transport.written)) == [(0x88, struct.pack("!H", 1001))]
    assert transport.closing
    await ws.closed.wait()
    assert ws.close_reason is None
    assert await ws.recv() == b"last"
    with pytest.raises(LeanClosed):
        await ws.recv()
    with pytest.raises(LeanClosed):
        ws.send_text("too late")


async def test_setting_on_message_hands_it_the_queued_messages_first() -> None:
    ws, _ = opened()
    ws.data_received(server_frame(1, b"1") + server_frame(1, b"2"))
    waiting = asyncio.create_task(ws.recv())
    await asyncio.sleep(0)
    ws.data_received(server_frame(1, b"3"))
    assert await waiting == b"1"
    got = drain(ws)
    assert got == [b"2", b"3"]
    ws.data_received(server_frame(1, b"4"))
    assert got == [b"2", b"3", b"4"]
    ws.close()
    await ws.closed.wait()


# --- against a real websockets server -----------------------------------------------


async def echo(conn: ServerConnection) -> None:
    """Echoes each message; "bye" makes the server close the connection."""
    async for message in conn:
        if message == "bye":
            await conn.close(1000, "asked to")
        else:
            await conn.send(message)


async def test_against_a_real_websockets_server() -> None:
    async with serve(echo, "127.0.0.1", 0, compression="deflate") as server:
        port = server.sockets[0].getsockname()[1]
        ws = await connect(f"ws://127.0.0.1:{port}/v1/live?token=x", timeout=10)
        ws.send_text("hello")
        assert await ws.recv() == b"hello"
        big = "é" * 40000  # 80,000 bytes: 64-bit lengths both ways
        ws.send_text(big)
        assert await ws.recv() == big.encode()
        got: asyncio.Queue[bytes] = asyncio.Queue()
        ws.on_message = got.put_nowait
        ws.send_text("again")
        assert await asyncio.wait_for(got.get(), 10) == b"again"
        ws.send_text("bye")
        await asyncio.wait_for(ws.closed.wait(), 10)
        assert ws.close_reason is None
        with pytest.raises(LeanClosed):
            ws.send_text("gone")


async def test_a_refused_upgrade_raises_handshake_error() -> None:
    def refuse(conn: ServerConnection, request: Any) -> Any:
        return conn.respond(403, "no\n")

    async with serve(echo, "127.0.0.1", 0, process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(HandshakeError, match="403"):
            await connect(f"ws://127.0.0.1:{port}/", timeout=10)
