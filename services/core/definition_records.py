"""The definitions topic's record layout: a definition of any size as small records.

One Kafka record per definition hit Kafka's 1 MiB record limit at about 9,500
precincts. A definition is instead published as a *revision*: its canonical
JSON text (`codec.dumps(codec.encode_definition(d))`) cut into parts of at
most `PART_TEXT_BYTES`, then one header that names them. Every record is
small and bounded whatever the number of precincts.

Records (all on partition 0 of the compacted topic, so one election's records
keep their publish order):

- part: key `"<election_id>@<revision>/<index>"`, value one line of JSON (the
  envelope `{"election_id", "index", "kind": "definition-part", "parts",
  "revision"}`), a newline, then bytes `[index * PART_TEXT_BYTES ...)` of the
  canonical text, cut on a UTF-8 character boundary (so every value is UTF-8).
- header: key `"<election_id>"`, value `{"kind": "definition-header",
  "election_id", "revision", "parts", "bytes", "sha256", "name", "date",
  "test", "regions", "races", "precincts"}`: the count and digest of the
  parts, and a summary a lister can show without assembling the definition.
- tombstone (null value) of a part key: that part is superseded. A tombstone of
  a header key removes the election.
- legacy: a header key whose value is a whole definition object (what votewire
  wrote before this layout) is a complete revision by itself.
- retirement: key `"<election_id>#retired"` (`core.retirement`): the election
  is retired; its tombstone un-retires it. Independent of the revisions.

Publish order: every part, acknowledged; then the header; then tombstones for
the parts of revisions it supersedes. A reader (`Assembler`) makes a revision
visible only when the newest header of its election is there and all of its
parts are, with the right length and SHA-256: never a mix of two revisions,
never a partial one. It does not depend on the order it sees records in, so
a compacted topic (which keeps each key's newest record) reads the same as
the full history. Revisions are named `<published ms>-<digest prefix>`, so a
revision id is never reused for other content, and tombstoning a superseded
revision can never delete the parts of the newest.

Pure: bytes in, bytes and events out; no I/O, no clock (callers pass times).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from votewire.core.codec import dumps
from votewire.core.models import ElectionDefinition
from votewire.core.retirement import Retired, Unretired, decode_retirement, is_retirement_key

__all__ = [
    "PART_TEXT_BYTES",
    "Assembler",
    "Complete",
    "Header",
    "Record",
    "Removed",
    "Retired",
    "Skipped",
    "Unretired",
    "header_of",
    "part_key",
    "revision_name",
    "revision_records",
    "split_text",
    "tombstones",
]

PART_TEXT_BYTES = 128 * 1024
"""Most canonical-text bytes in one part (the value adds a ~150-byte envelope):
far below Kafka's default 1 MiB `max.message.bytes`. 200,000 precincts: ~170 parts."""
SUMMARY_NAME_CHARS = 200
"""The header shows the name cut to this, so the header stays small too (the
election id is bounded by the decoder, `MAX_ELECTION_ID`)."""
HEADER = "definition-header"
PART = "definition-part"
ORPHAN_AGE_MS = 10 * 60 * 1000
"""Parts of a revision that never got a header are garbage once this old: a
publish sends its header within the produce timeout of its last part."""


class Record(NamedTuple):
    """A record to produce: key and value bytes (None: a tombstone)."""

    key: bytes
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Header:
    """A revision's header, decoded."""

    election_id: str
    revision: str
    parts: int
    size: int
    sha256: str
    summary: dict[str, Any] = field(default_factory=dict)
    """name, date, test and the counts of regions, races and precincts."""


@dataclass(frozen=True, slots=True)
class Complete:
    """A revision became the visible one: its whole canonical text."""

    election_id: str
    revision: str
    text: bytes


@dataclass(frozen=True, slots=True)
class Removed:
    """The election's header was tombstoned: it has no definition any more."""

    election_id: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that cannot be part of any revision (or a revision that failed its check)."""

    key: bytes | None
    reason: str


Event = Complete | Removed | Skipped | Retired | Unretired


def part_key(election_id: str, revision: str, index: int) -> bytes:
    return f"{election_id}@{revision}/{index}".encode()


def revision_name(text: bytes, published_ms: int) -> str:
    """`<published ms, 13 digits>-<first 12 hex of the text's SHA-256>`."""
    return f"{published_ms:013d}-{hashlib.sha256(text).hexdigest()[:12]}"


def split_text(text: bytes, limit: int = PART_TEXT_BYTES) -> list[bytes]:
    """`text` (UTF-8) in slices of at most `limit` bytes, each cut before a character
    start, so every slice is UTF-8 by itself. Joined, they are `text`."""
    if limit < 4:
        raise ValueError("a part must hold at least one UTF-8 character (4 bytes)")
    slices, start = [], 0
    while start < len(text):
        end = min(len(text), start + limit)
        while end < len(text) and text[end] & 0xC0 == 0x80:  # a continuation byte
            end -= 1
        slices.append(text[start:end])
        start = end
    return slices or [b""]


def _summary(definition: ElectionDefinition) -> dict[str, Any]:
    return {
        "name": definition.name[:SUMMARY_NAME_CHARS],
        "date": definition.date,
        "test": definition.test,
        "regions": len(definition.regions),
        "races": len(definition.races),
        "precincts": sum(len(r.precincts) for r in definition.races),
    }


def revision_records(
    definition: ElectionDefinition, text: bytes, revision: str, limit: int = PART_TEXT_BYTES
) -> tuple[list[Record], Record]:
    """The part records and the header record of one revision of `definition`,
    whose canonical text is `text`. Publish the parts, then the header."""
    election_id = definition.election_id
    slices = split_text(text, limit)
    parts = []
    for index, piece in enumerate(slices):
        envelope = {
            "kind": PART,
            "election_id": election_id,
            "revision": revision,
            "index": index,
            "parts": len(slices),
        }
        parts.append(
            Record(part_key(election_id, revision, index), dumps(envelope) + b"\n" + piece)
        )
    header = {
        "kind": HEADER,
        "election_id": election_id,
        "revision": revision,
        "parts": len(slices),
        "bytes": len(text),
        "sha256": hashlib.sha256(text).hexdigest(),
        **_summary(definition),
    }
    return parts, Record(election_id.encode(), dumps(header))


def header_of(value: bytes) -> Header | None:
    """The header in a header record's value; None if it is not one."""
    try:
        obj = json.loads(value)
    except ValueError:
        return None
    return _header(obj)


def _header(obj: Any) -> Header | None:
    if not isinstance(obj, dict) or obj.get("kind") != HEADER:
        return None
    try:
        election_id, revision = obj["election_id"], obj["revision"]
        parts, size, digest = obj["parts"], obj["bytes"], obj["sha256"]
    except KeyError:
        return None
    if not (isinstance(election_id, str) and isinstance(revision, str) and isinstance(digest, str)):
        return None
    if type(parts) is not int or type(size) is not int or parts < 1 or size < 0:
        return None
    summary = {
        k: obj[k] for k in ("name", "date", "test", "regions", "races", "precincts") if k in obj
    }
    return Header(election_id, revision, parts, size, digest, summary)


@dataclass(slots=True)
class _Seen:
    """What a reader knows of one revision's parts."""

    indices: set[int] = field(default_factory=set)
    newest_ms: int = 0
    texts: dict[int, bytes] = field(default_factory=dict)
    """Part texts held until the revision completes (then dropped)."""


class Assembler:
    """Turns the records of the definitions topic, in any order, into events.

    `offer(key, value, timestamp_ms)` returns what the record changed:
    `Complete` when an election's newest header now has all of its parts
    (the visible revision changes; re-offering the same revision emits
    nothing), `Removed` when a header key is tombstoned, `Skipped` for a
    record that fits no revision, `Retired`/`Unretired` when an election's
    retirement record changes (`retired()` holds the current ones). Memory:
    the parts of revisions not yet complete (a publish in flight, or garbage
    not yet tombstoned), and per revision a set of part indices; a complete
    revision's text is handed out and forgotten.
    """

    def __init__(self) -> None:
        self._headers: dict[str, Header] = {}
        self._visible: dict[str, str] = {}
        self._headed: dict[str, set[str]] = {}
        """election -> revisions that ever had a header (superseded ones included)."""
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._retired: dict[str, Retired] = {}

    def retired(self) -> dict[str, Retired]:
        """The retirement of every retired election."""
        return dict(self._retired)

    def headers(self) -> dict[str, Header]:
        """The newest header per election (complete or not)."""
        return dict(self._headers)

    def visible(self, election_id: str) -> str | None:
        """The revision of the election readers see, if any."""
        return self._visible.get(election_id)

    def offer(self, key: bytes | None, value: bytes | None, timestamp_ms: int = 0) -> list[Event]:
        if key is None:
            return [Skipped(None, "record without a key")]
        if is_retirement_key(key):
            return self._retirement(key, value)
        if value is None:
            return self._tombstone(key)
        line, newline, _ = value.partition(b"\n")
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if newline and isinstance(obj, dict) and obj.get("kind") == PART:
            return self._part(key, obj, value[len(line) + 1 :], timestamp_ms)
        if newline:  # a whole definition written with line breaks (legacy)
            try:
                obj = json.loads(value)
            except ValueError:
                return [Skipped(key, "value is not JSON")]
        elif obj is None:
            return [Skipped(key, "value is not JSON")]
        header = _header(obj)
        if header is not None:
            if key != header.election_id.encode():
                return [Skipped(key, "header key is not its election id")]
            return self._header(header)
        if isinstance(obj, dict) and "races" in obj and "election_id" in obj:
            return self._legacy(key, value)
        return [Skipped(key, "neither a header, a part nor a definition")]

    def _retirement(self, key: bytes, value: bytes | None) -> list[Event]:
        found = decode_retirement(key, value)
        if isinstance(found, str):
            return [Skipped(key, found)]
        if isinstance(found, Unretired):
            if self._retired.pop(found.election_id, None) is None:
                return []
            return [found]
        if self._retired.get(found.election_id) == found:
            return []
        self._retired[found.election_id] = found
        return [found]

    def _legacy(self, key: bytes, value: bytes) -> list[Event]:
        election_id = key.decode(errors="replace")
        revision = f"legacy-{hashlib.sha256(value).hexdigest()[:12]}"
        self._headers[election_id] = Header(
            election_id, revision, 1, len(value), hashlib.sha256(value).hexdigest()
        )
        return self._show(election_id, revision, value)

    def _header(self, header: Header) -> list[Event]:
        self._headers[header.election_id] = header
        self._headed.setdefault(header.election_id, set()).add(header.revision)
        return self._try_complete(header.election_id)

    def _part(self, key: bytes, envelope: dict[str, Any], text: bytes, ms: int) -> list[Event]:
        election_id = envelope.get("election_id")
        revision, index = envelope.get("revision"), envelope.get("index")
        if (
            not isinstance(election_id, str)
            or not isinstance(revision, str)
            or type(index) is not int
        ):
            return [Skipped(key, "part envelope lacks election_id, revision or index")]
        if key != part_key(election_id, revision, index):
            return [Skipped(key, "part key does not match its envelope")]
        seen = self._seen.setdefault((election_id, revision), _Seen())
        seen.indices.add(index)
        seen.newest_ms = max(seen.newest_ms, ms)
        if self._visible.get(election_id) == revision:
            return []  # a re-publish of what readers already see
        seen.texts[index] = text
        return self._try_complete(election_id)

    def _tombstone(self, key: bytes) -> list[Event]:
        text = key.decode(errors="replace")
        if text in self._headers or text in self._visible:
            self._headers.pop(text, None)
            self._visible.pop(text, None)
            return [Removed(text)]
        election_id, at, rest = text.rpartition("@")
        revision, slash, index = rest.rpartition("/")
        if at and slash and index.isdigit():
            seen = self._seen.get((election_id, revision))
            if seen is not None:
                seen.indices.discard(int(index))
                seen.texts.pop(int(index), None)
                if not seen.indices:
                    del self._seen[(election_id, revision)]
        return []

    def _try_complete(self, election_id: str) -> list[Event]:
        header = self._headers.get(election_id)
        if header is None or self._visible.get(election_id) == header.revision:
            return []
        seen = self._seen.get((election_id, header.revision))
        if seen is None or any(i not in seen.texts for i in range(header.parts)):
            return []  # parts still to come (or gone: then the previous stays visible)
        text = b"".join(seen.texts[i] for i in range(header.parts))
        seen.texts.clear()
        if len(text) != header.size or hashlib.sha256(text).hexdigest() != header.sha256:
            return [Skipped(election_id.encode(), f"revision {header.revision} fails its digest")]
        return self._show(election_id, header.revision, text)

    def _show(self, election_id: str, revision: str, text: bytes) -> list[Event]:
        if self._visible.get(election_id) == revision:
            return []
        self._visible[election_id] = revision
        return [Complete(election_id, revision, text)]

    def stale_parts(self, election_id: str, keep: str, now_ms: int) -> list[bytes]:
        """Keys of parts to tombstone once revision `keep` of `election_id` is published:
        parts of every other revision that had a header (superseded), and of revisions
        that never got one and are older than `ORPHAN_AGE_MS` (a publish that died).
        Parts of another publish still in flight are left alone."""
        headed = self._headed.get(election_id, set())
        keys: list[bytes] = []
        for (election, revision), seen in self._seen.items():
            if election != election_id or revision == keep:
                continue
            if revision in headed or seen.newest_ms < now_ms - ORPHAN_AGE_MS:
                keys.extend(part_key(election, revision, i) for i in sorted(seen.indices))
        return keys


def tombstones(keys: Iterable[bytes]) -> list[Record]:
    return [Record(key, None) for key in keys]
