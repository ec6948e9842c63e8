"""Why the live service closes a websocket: every close code it uses, named.

A client decides from the code alone whether to reconnect: `reconnect=True`
means "come back (with backoff) and resume from the seq/epoch you hold";
`reconnect=False` means retrying unchanged will fail the same way. The reason
string is the short machine-readable name, sent in the close frame.
docs/live-protocol.md lists the same table (a unit test keeps them in step).

Codes 4000-4999 are the websocket range for applications; 1011 and 1012
are the standard "internal error" and "service restart".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CloseCode:
    code: int
    reason: str
    reconnect: bool
    meaning: str


NO_PONG = CloseCode(
    4001,
    "no_pong",
    True,
    "The client answered no server ping within the pong timeout: the connection is presumed dead.",
)
FORBIDDEN = CloseCode(
    4003,
    "forbidden",
    False,
    "The origin is not allowed or the read token is unknown.",
)
SLOW = CloseCode(
    4008,
    "slow",
    True,
    "The client did not read: a send stayed blocked past the send deadline, or its "
    "replies outgrew the per-connection queue.",
)
TOO_MANY_CONNECTIONS = CloseCode(
    4029,
    "too_many_connections",
    True,
    "The client address holds the most connections allowed; retry after a backoff.",
)
INTERNAL_ERROR = CloseCode(
    1011,
    "internal_error",
    True,
    "The server failed unexpectedly while serving this connection.",
)
RESTART = CloseCode(
    1012,
    "restart",
    True,
    "The server is shutting down or restarting (sent by uvicorn on shutdown).",
)

ALL: tuple[CloseCode, ...] = (
    NO_PONG,
    FORBIDDEN,
    SLOW,
    TOO_MANY_CONNECTIONS,
    INTERNAL_ERROR,
    RESTART,
)


class Disconnect(Exception):
    """Raised inside a session to close its connection with `close`."""

    def __init__(self, close: CloseCode, detail: str = "") -> None:
        super().__init__(f"{close.code} {close.reason}: {detail}" if detail else close.reason)
        self.close = close
