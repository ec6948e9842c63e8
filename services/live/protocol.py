"""The live protocol's client frames, parsed strictly, and its server frames.

Client -> server (JSON text frames):
  {"type": "subscribe", "channel": C, "resume": {"seq": n, "epoch": E}?}
  {"type": "unsubscribe", "channel": C}
  {"type": "ping"}
Server -> client: "snapshot", "update" (built by the aggregate, forwarded
verbatim), "subscribed"/"unsubscribed", "pong", and "error" with a code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.infra.redis_views import CHANNEL_RE

MAX_FRAME_BYTES = 4096


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


ClientFrame = Subscribe | Unsubscribe | Ping


def parse_client_frame(text: str) -> ClientFrame:
    """Decode one client frame or raise ProtocolError (never anything else)."""
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError("frame_too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        obj = json.loads(text)
    except ValueError:
        raise ProtocolError("malformed_frame", "not JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("malformed_frame", "a frame is a JSON object")
    kind = obj.get("type")
    if kind == "ping":
        return Ping()
    channel = obj.get("channel")
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError("unknown_type", "type must be subscribe, unsubscribe or ping")
    if not isinstance(channel, str) or not CHANNEL_RE.match(channel):
        raise ProtocolError("bad_channel", "channel must be like race:<election>:<race>")
    if kind == "unsubscribe":
        return Unsubscribe(channel)
    resume = obj.get("resume")
    if resume is None:
        return Subscribe(channel)
    seq = resume.get("seq") if isinstance(resume, dict) else None
    epoch = resume.get("epoch") if isinstance(resume, dict) else None
    if type(seq) is not int or seq < 0 or not isinstance(epoch, str):
        raise ProtocolError("bad_resume", "resume is {seq: int >= 0, epoch: str}")
    return Subscribe(channel, seq, epoch)


def control(kind: str, **fields: object) -> bytes:
    return json.dumps({"type": kind, **fields}, separators=(",", ":")).encode()
