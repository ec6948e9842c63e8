"""The live protocol's client frames, parsed strictly, and its server frames.

Client -> server (JSON text or binary frames; docs/live-protocol.md):
  {"type": "subscribe", "channel": C, "resume": {"seq": n, "epoch": E}?}
  {"type": "unsubscribe", "channel": C}
  {"type": "ping"}              answered by {"type": "pong"}
  {"type": "pong"}              the answer to a server ping
Server -> client (binary frames of UTF-8 JSON): "snapshot" and "update"
(`snapshot_frame`, `update_frame`: a stored view and its position, framed
here, once per update per process, and the same bytes sent to every
subscriber), "subscribed", "unsubscribed", "ping", "pong", and "error" with
a code. A bad frame is answered with an error frame; it never ends the
connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from votewire.infra.views import CHANNEL_RE, StoredView

MAX_FRAME_BYTES = 4096

CHANNEL_KINDS: dict[str, tuple[int, ...]] = {
    "race": (3,),
    "region": (3,),
    "summary": (2,),
    "turnout": (2, 3),
    "races": (2, 4),
    "unit": (4,),
    "anomalies": (2,),
    "status": (2,),
}
"""Channel kind -> allowed number of ':'-separated parts (race:E:R has 3; `races:E` is
the race list's index, `races:E:G:P` page P of its group G, P a decimal page number)."""


_PAGE = re.compile(r"^(0|[1-9][0-9]{0,8})$")
"""A race-list page number: decimal, no leading zero (one channel per page)."""


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
    if parts[0] == "races" and len(parts) == 4 and not _PAGE.match(parts[3]):
        raise ProtocolError("unknown_channel", "a race-list page is races:E:G:<page>", channel)
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


def update_frame(view: StoredView) -> bytes:
    """The `update` frame of a change: its head, then the view's bytes as stored.

    `{"type":"update","channel":C,"seq":n,"epoch":E,"version":v,"view":{...}}`, keys in
    this order (clients may rely on the head coming first, docs/live-protocol.md).
    Channel and epoch need no JSON escaping: the channel grammar and the store's epochs
    (hex) admit no character that would."""
    return b'{"type":"update","channel":"%s","seq":%d,"epoch":"%s","version":%d,"view":%s}' % (
        view.channel.encode(),
        view.seq,
        view.epoch.encode(),
        view.version,
        view.doc,
    )


def snapshot_frame(view: StoredView, *, resync: bool = False) -> bytes:
    """The `snapshot` frame a subscriber receives first (or after a gap, `resync`)."""
    flag = b',"resync":true' if resync else b""
    return b'{"type":"snapshot","channel":"%s","seq":%d,"epoch":"%s","version":%d%s,"view":%s}' % (
        view.channel.encode(),
        view.seq,
        view.epoch.encode(),
        view.version,
        flag,
        view.doc,
    )
