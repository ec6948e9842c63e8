"""The views store's vocabulary, shared by its two adapters and by those who read them.

Adapters: `redis_views.RedisViews` (production: every process shares it)
and `memory_views.MemoryViews` (tests, single-process tools). Readers type
themselves on a Protocol of what they use (the live service:
`votewire.live.view_store.ViewStore`; the aggregate's flusher:
`votewire.aggregate.flusher.ViewWriter`); one contract suite runs against
both adapters (tests/integration/test_view_store.py).

The model, the same in both adapters:

- a *view* is the newest JSON document of a channel, with its `version`
  (it never goes back: a write below the stored version, or at it, is
  skipped and changes nothing; the one exception is version 0, see
  `replaces`) and its `seq` (grows by exactly one per accepted write);
- one *epoch* for the whole store, created by its first write, and new
  whenever the views were lost (then seqs restart at 1);
- every accepted write is a *change*: appended to the channel's feed (which
  keeps at least the last `feed_maxlen` changes) and delivered to every
  change subscriber, in seq order per channel.

A change is a `StoredView`: the view as that write stored it. How a view is
shown to a client (frames, headers) is the reader's business, not the store's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHANNEL_RE = re.compile(r"^[a-z]+(?::[A-Za-z0-9_.\-]{1,128}){1,3}$")
"""The channel grammar: a kind, then one to three ':'-separated ids."""


class BadChannel(ValueError):
    """A channel name outside the documented grammar."""


class ViewsUnavailable(Exception):
    """The store could not answer (Redis down, timed out, refused); retry later."""


def check_channel(channel: str) -> str:
    """`channel` if it matches `CHANNEL_RE`; `BadChannel` otherwise."""
    if not CHANNEL_RE.match(channel):
        raise BadChannel(f"not a channel name: {channel!r}")
    return channel


def replaces(stored_version: int, stored_doc: bytes, version: int, doc: bytes) -> bool:
    """Whether a write of (`version`, `doc`) replaces the stored view: a greater version
    always does; an equal version only at 0 and only with other bytes.

    Version 0 is an election's opening (`core.publication.opening_publications`),
    derived from its definition alone, so a definition corrected before any report
    is reloaded and its opening rewritten: the corrected document replaces the
    first one (a newsroom sees the right totals at once), an equal one changes
    nothing (a restart or a re-delivered definition writes no change). A view
    heard from (version >= 1) is never replaced by an opening, and always
    replaces one. Both adapters apply this rule (the Redis script inline)."""
    if version != stored_version:
        return version > stored_version
    return version == 0 and doc != stored_doc


@dataclass(frozen=True, slots=True)
class StoredView:
    """A channel's view at a feed position: what a read returns and what a change carries."""

    channel: str
    version: int
    seq: int
    epoch: str
    doc: bytes
    """The view as stored: a JSON document, UTF-8."""
