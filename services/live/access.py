"""Who may read what: allowed browser origins and optional read tokens.

Public by default: with no tokens file every channel is readable by anyone.
A tokens file (`VOTEWIRE_LIVE_TOKENS_FILE`) names private channels by
pattern and grants them to tokens, stored as SHA-256 hex digests:

    {"private": ["race:kz-2026-*", "summary:kz-2026-*"],
     "tokens": [{"name": "kazinform", "sha256": "<hex>", "channels": ["*"]}]}

A channel matching no `private` pattern stays public. Patterns are shell
globs (`fnmatch`, case-sensitive). A client presents its token as
`Authorization: Bearer <token>` or `?token=<token>` (browsers cannot set
headers on a websocket). An unknown token is refused outright rather than
treated as anonymous, so a misconfigured newsroom learns at once.

Origins: a request without `Origin` (not a browser) is allowed; so is one
from the service's own host; others must be listed, unless the list has "*".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import urlsplit

from votewire.config import SettingsError


@dataclass(frozen=True, slots=True)
class Reader:
    """An authenticated (or anonymous) reader and the private patterns it holds."""

    name: str
    grants: tuple[str, ...] = ()


ANONYMOUS = Reader("anonymous")


class Access:
    def __init__(
        self,
        allowed_origins: tuple[str, ...] = ("*",),
        private: tuple[str, ...] = (),
        tokens: Mapping[str, Reader] | None = None,
    ) -> None:
        self.allowed_origins = allowed_origins
        self.private = private
        self._tokens = dict(tokens or {})

    @classmethod
    def load(cls, allowed_origins: tuple[str, ...], tokens_file: Path | None) -> Access:
        """Build from settings; a bad tokens file raises SettingsError naming it."""
        if tokens_file is None:
            return cls(allowed_origins)
        try:
            data = json.loads(tokens_file.read_text(encoding="utf-8"))
            private = tuple(str(p) for p in data.get("private", []))
            tokens = {
                str(t["sha256"]).lower(): Reader(str(t["name"]), tuple(map(str, t["channels"])))
                for t in data.get("tokens", [])
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SettingsError(f"VOTEWIRE_LIVE_TOKENS_FILE {tokens_file}: {exc!r}") from None
        return cls(allowed_origins, private, tokens)

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None or "*" in self.allowed_origins:
            return True
        if host and urlsplit(origin).netloc == host:
            return True
        return origin.rstrip("/") in self.allowed_origins

    def reader(self, token: str | None) -> Reader | None:
        """The reader a token stands for; ANONYMOUS without one; None if unknown."""
        if not token:
            return ANONYMOUS
        return self._tokens.get(hashlib.sha256(token.encode()).hexdigest())

    def may_read(self, reader: Reader, channel: str) -> bool:
        if not any(fnmatchcase(channel, p) for p in self.private):
            return True
        return any(fnmatchcase(channel, g) for g in reader.grants)


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token of a request: the bearer header first, else `?token=`."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return query.get("token") or None
