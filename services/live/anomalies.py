"""The anomalies channel `anomalies:E`: a feed of events, not a view.

Every other channel carries a whole view per change, so a newer update may
replace an older one (pacing, conflation). The anomaly feed
(infra/anomaly_feed.py) is append-only: each change is one new anomaly,
with its `seq` in the document. So, on this channel only:

- the snapshot (`snapshot` frame, first answer to a subscribe) is the window
  of the newest `SNAPSHOT_ANOMALIES` anomalies,
  `{"election_id", "count", "anomalies": [oldest ... newest]}`, `count`
  being the newest seq; its frame's seq and version are that seq (so a
  resume from it continues the feed);
- each `update` is one anomaly (`view` = the anomaly, `seq` = its seq);
- the pacer passes every update at once (`is_event_channel`); the mailbox
  may still conflate for a client that reads too slowly, and a resume after a
  reconnect replays exactly the missed anomalies from the feed. A client
  that sees a seq jump fetches the gap by REST (`?after=<its seq>`).

REST: `GET /v1/elections/{e}/anomalies?limit=&before=|after=` answers
`{"election_id", "count", "anomalies": [...], "next"}`: newest first (or,
with `after`, oldest first after that seq), at most `limit` (1-500, default
100); `next` is the query of the following page, or null. Read access is
that of the channel `anomalies:E` (make `anomalies:*` private in a tokens
file to keep the panel to the newsroom).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from votewire.infra.anomaly_feed import MAX_PAGE, AnomalyPage
from votewire.infra.views import StoredView

SNAPSHOT_ANOMALIES = 100
DEFAULT_PAGE = 100
KIND = "anomalies"


class AnomalyReader(Protocol):
    async def page(
        self, election_id: str, *, before: int | None = None, after: int | None = None,
        limit: int = 100,
    ) -> AnomalyPage: ...  # fmt: skip


class Feed(Protocol):
    """What the window is read from (`subscription.ViewSource` has it)."""

    async def updates_since(self, channel: str, seq: int) -> list[StoredView] | None: ...


def is_event_channel(channel: str) -> bool:
    """Whether `channel` is a feed of events (each update matters), not of whole views."""
    return channel.startswith(KIND + ":")


async def window(views: Feed, stored: StoredView) -> StoredView:
    """The snapshot of an anomalies channel whose newest anomaly is `stored` (module doc)."""
    missed = await views.updates_since(stored.channel, max(0, stored.seq - SNAPSHOT_ANOMALIES))
    docs = [change.doc for change in missed or () if change.seq <= stored.seq] or [stored.doc]
    election_id = stored.channel.split(":", 1)[1]
    doc = b'{"anomalies":[%b],"count":%d,"election_id":"%b"}' % (
        b",".join(docs),
        stored.seq,
        election_id.encode(),
    )
    return StoredView(stored.channel, stored.version, stored.seq, stored.epoch, doc)


def page_query(query: Mapping[str, str]) -> tuple[int | None, int | None, int]:
    """(before, after, limit) of a REST query; `ValueError` naming what is wrong."""
    found: dict[str, int | None] = {}
    for name in ("before", "after", "limit"):
        raw = query.get(name)
        if raw is not None and (not raw.isdigit() or len(raw) > 18):
            raise ValueError(f"{name} must be a whole number")
        found[name] = int(raw) if raw is not None else None
    if found["before"] is not None and found["after"] is not None:
        raise ValueError("give before or after, not both")
    limit = found["limit"]
    limit = DEFAULT_PAGE if limit is None else limit
    return found["before"], found["after"], min(MAX_PAGE, max(1, limit))


def page_body(election_id: str, page: AnomalyPage, limit: int, after: int | None) -> bytes:
    """The REST answer for `page` (module doc), built from the stored bytes."""
    nxt = b"null"
    if len(page.items) == limit:
        edge = _seq_of(page.items[-1])
        if edge is not None and (after is not None or edge > 1):
            way = b"after" if after is not None else b"before"
            nxt = b'"?%b=%d&limit=%d"' % (way, edge, limit)
    return b'{"anomalies":[%b],"count":%d,"election_id":"%b","next":%b}' % (
        b",".join(page.items),
        page.total,
        election_id.encode(),
        nxt,
    )


def _seq_of(doc: bytes) -> int | None:
    """The seq of a stored anomaly (its first key, `{"seq":n,...}`)."""
    head = doc[: doc.find(b",")]
    digits = head.removeprefix(b'{"seq":')
    return int(digits) if digits.isdigit() else None
