"""The aggregate stages' vocabulary: records in, outputs out, and the ports between.

The stages (`folder.RaceFolder`, `rollups.RegionStage`, `national_stage.NationalStage`)
import no faust, aiokafka or redis: they see

- `Record`: one consumed message (key, value, source partition);
- a `StateTable`: their durable state (a faust table in production), written
  with the *source partition* of the record that caused the write, so the
  changelog is co-partitioned with the stage's input even when one batch
  mixes partitions;
- a `Downstream`: the next stage's topic (a send through faust's producer:
  enqueued now, flushed by faust before the source offsets are committed);
- a `ViewSink`: the coalescing Redis writer (`flusher.ViewFlusher`), told the
  newest (channel, version, doc) and writing it later, off the commit path.

State table values carry their partition (`tag`): after a rebalance a stage
re-emits exactly the keys of the partitions it now owns, whatever else the
store holds (standby or stale data of revoked partitions).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Protocol

from votewire.core.models import ElectionDefinition

log = logging.getLogger(__name__)

DEFINITION_WAIT_S = 10.0
"""How long a stage waits for an election's definition to reach its catalog."""


class Record(NamedTuple):
    """One consumed message: raw key and value, the partition it came from, and its
    Kafka headers (a report's name its sender, `core.report_headers`)."""

    key: bytes | None
    value: bytes | None
    partition: int
    headers: tuple[tuple[str, bytes], ...] = ()


class Output(NamedTuple):
    """A view to publish: Redis channel, monotonic version, JSON document."""

    channel: str
    version: int
    doc: bytes


class StateTable(Protocol):
    """Durable key -> bytes state whose writes name their changelog partition."""

    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes, partition: int) -> None: ...
    def entries(self) -> Iterator[tuple[bytes, bytes]]: ...


class Downstream(Protocol):
    """The next stage's topic; `send` enqueues (delivery is flushed before commit)."""

    async def send(self, key: bytes | None, value: bytes) -> None: ...


class ViewSink(Protocol):
    """Takes the newest view of a channel; older versions offered later are ignored.
    `offer_row`: the newest row of a key in a rows table (precinct results)."""

    def offer(self, channel: str, version: int, doc: bytes) -> None: ...
    def offer_row(self, table: str, key: str, row: bytes) -> None: ...


class DefinitionSource(Protocol):
    """What the stages need of `infra.definition_catalog.DefinitionCatalog`."""

    def get(self, election_id: str) -> ElectionDefinition | None: ...
    async def wait_for(self, election_id: str, timeout_s: float) -> ElectionDefinition | None: ...


class Definitions:
    """Definition lookups for the stages.

    A missing election is waited for (`wait_s`: its definition may have been
    published a moment ago), but then not again for `retry_s`: a burst of
    records of an unknown election costs one wait, not one per record."""

    def __init__(
        self,
        catalog: DefinitionSource,
        wait_s: float = DEFINITION_WAIT_S,
        retry_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.wait_s = wait_s
        self.retry_s = retry_s
        self.clock = clock
        self._missing: dict[str, float] = {}

    async def of(self, election_id: str) -> ElectionDefinition | None:
        found = self.catalog.get(election_id)
        if found is not None:
            return found
        missed = self._missing.get(election_id)
        if missed is not None and self.clock() - missed < self.retry_s:
            return None
        found = await self.catalog.wait_for(election_id, self.wait_s)
        if found is None:
            self._missing[election_id] = self.clock()
        else:
            self._missing.pop(election_id, None)
        return found


def tag(partition: int, payload: bytes) -> bytes:
    """A state-table value: the source partition, a newline, the payload."""
    return b"%d\n%s" % (partition, payload)


def untag(value: bytes) -> tuple[int, bytes]:
    """Inverse of `tag`; `ValueError` if `value` is not a tagged value."""
    head, sep, payload = value.partition(b"\n")
    if not sep:
        raise ValueError("untagged state value")
    return int(head), payload


MAX_MESSAGE_BYTES = 256 * 1024
"""Upper bound for one packed inter-stage message (Kafka's default limit is 1 MiB)."""


def pack(docs: Iterable[bytes], limit: int = MAX_MESSAGE_BYTES) -> Iterator[bytes]:
    """JSON arrays of the given JSON documents, each array at most ~`limit` bytes.

    Stages send their snapshots in batches: one message per batch and
    destination key instead of one per snapshot (faust's cost is per message)."""
    chunk: list[bytes] = []
    size = 0
    for doc in docs:
        if chunk and size + len(doc) > limit:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 0
        chunk.append(doc)
        size += len(doc) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def unpack(message: bytes, depth: int = 1) -> list[tuple[Any, bytes]]:
    """Inverse of `pack`: each element of a JSON array with its own bytes.

    The bytes are the element's exact text in `message`, so a stage can keep
    a received document without encoding it again. `depth` is how many levels
    of arrays are split this way: with 2, an element that is an array comes
    as its own `unpack` (a list of (value, bytes)), other elements decoded as
    usual. `ValueError` if `message` is not a JSON array."""
    text = message.decode()
    items, end = _array(text, _skip(text, 0), depth)
    if end != len(text):
        raise ValueError("trailing data after the JSON array")
    return items


def _skip(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()  # type: ignore[union-attr]


def _array(text: str, i: int, depth: int) -> tuple[list[tuple[Any, bytes]], int]:
    """Parse the array at `text[i]`; its (value, bytes) items and the index after it."""
    if text[i : i + 1] != "[":
        raise ValueError(f"not a JSON array at {i}")
    items: list[tuple[Any, bytes]] = []
    i = _skip(text, i + 1)
    if text[i : i + 1] == "]":
        return items, _skip(text, i + 1)
    while True:
        if depth > 1 and text[i : i + 1] == "[":
            value, stop = _array(text, i, depth - 1)
        else:
            value, stop = _DECODER.raw_decode(text, i)
        items.append((value, text[i:stop].rstrip(" \t\n\r").encode()))
        i = _skip(text, stop)
        sep = text[i : i + 1]
        i = _skip(text, i + 1)
        if sep == "]":
            return items, i
        if sep != ",":
            raise ValueError(f"malformed JSON array at {i}")


def owned_entries(table: StateTable, partitions: set[int]) -> Iterator[tuple[bytes, bytes]]:
    """(key, payload) of the table entries written for one of `partitions`."""
    for key, value in table.entries():
        try:
            partition, payload = untag(value)
        except ValueError:
            log.error("state entry %r is not tagged; ignored", key)
            continue
        if partition in partitions:
            yield key, payload
