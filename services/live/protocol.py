"""The live protocol's client frames, parsed strictly, and its server frames.

Client -> server (JSON text or binary frames; docs/live-protocol.md):
  {"type": "subscribe", "channel": C, "resume": {"seq": n, "epoch": E}?}
  {"type": "unsubscribe", "channel": C}
  {"type": "ping"}              answered by {"type": "pong"}
  {"type": "pong"}              the answer to a server ping
Server -> client (binary frames of UTF-8 JSON): "snapshot", "update" (built
by the aggregate, forwarded verbatim), "subscribed", "unsubscribed", "ping",
"pong", and "error" with a code. A bad frame is answered with an error frame;
it never ends the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from votewire.infra.redis_views import CHANNEL_RE

MAX_FRAME_BYTES = 4096

CHANNEL_KINDS: dict[str, tuple[int, ...]] = {
    "race": (3,),
    "region": (3,),
    "summary": (2,),
    "turnout": (2, 3),
    "races": (2,),
    "status": (2,),
}
"""Channel kind -> allowed number of ':'-separated parts (race:E:R has 3)."""


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str, channel: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.channel = channel

    def frame(self) -> bytes:
        extra = {"channel": self.channel} if self.channel else {}
        return control("error", code=self.code, message=str(self), **extra)


@dataclass(frozen=True, slots=True)
class Subscribe:
    channel: str
    resume_seq: int | None = None
    resume_epoch: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Pong:
    pass


ClientFrame = Subscribe | Unsubscribe | Ping | Pong


def check_channel_name(channel: object) -> str:
    """`channel` if it is a channel this service serves; ProtocolError otherwise."""
    if not isinstance(channel, str) or not CHANNEL_RE.match(channel):
        raise ProtocolError("bad_channel", "channel must be like race:<election>:<race>")
    parts = channel.split(":")
    if len(parts) not in CHANNEL_KINDS.get(parts[0], ()):
        kinds = ", ".join(CHANNEL_KINDS)
        raise ProtocolError("unknown_channel", f"no such channel; kinds are {kinds}", channel)
    return channel


def parse_client_frame(text: str, max_bytes: int = MAX_FRAME_BYTES) -> ClientFrame:
    """Decode one client frame or raise ProtocolError (never anything else)."""
    if len(text) > max_bytes:
        raise ProtocolError("frame_too_large", f"frames are limited to {max_bytes} bytes")
    try:
        obj = json.loads(text)
    except ValueError:
        raise ProtocolError("malformed_frame", "not JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("malformed_frame", "a frame is a JSON object")
    kind = obj.get("type")
    if kind == "ping":
        return Ping()
    if kind == "pong":
        return Pong()
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError("unknown_type", "type must be subscribe, unsubscribe, ping or pong")
    channel = check_channel_name(obj.get("channel"))
    if kind == "unsubscribe":
        return Unsubscribe(channel)
    resume = obj.get("resume")
    if resume is None:
        return Subscribe(channel)
    seq = resume.get("seq") if isinstance(resume, dict) else None
    epoch = resume.get("epoch") if isinstance(resume, dict) else None
    if type(seq) is not int or seq < 0 or not isinstance(epoch, str):
        raise ProtocolError("bad_resume", "resume is {seq: int >= 0, epoch: str}", channel)
    return Subscribe(channel, seq, epoch)


def control(kind: str, **fields: object) -> bytes:
    """A server frame other than snapshot/update, compact UTF-8 JSON."""
    return json.dumps({"type": kind, **fields}, separators=(",", ":"), ensure_ascii=False).encode()
