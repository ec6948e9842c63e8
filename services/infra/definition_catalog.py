"""Election definitions, followed from their compacted Kafka topic.

Every process that needs definitions (ingest to validate, aggregate to tally)
keeps a `DefinitionCatalog`: at `start()` it reads the topic from the beginning
to its current end (so it knows every definition published before it started),
then keeps following it in the background. It uses no consumer group: each
process reads the whole topic.

The topic's records are parts and headers (`core.definition_records`): the
catalog offers each record to an `Assembler` and sees an election's
definition only once a revision is complete (all parts there, digest right),
never a partial or mixed one; a tombstoned header removes the election. A
record that fits no revision, or a complete revision that does not decode,
is skipped and counted (`skipped`): the previous revision stays. An
election's retirement record (`core.retirement`) is followed the same way:
`retirement(election_id)` is the current one, or None.

Listeners (`listen`): called with an election id, synchronously and without
awaiting anything, whenever that election's definition or retirement may
have changed: once per known election when the initial read is done, then
as records arrive. A listener reads the new state from the catalog, and
must not raise (an exception is logged and the catalog carries on).

Cost: during the initial read only each election's newest complete revision
is decoded, once, at the end; later revisions are decoded as they complete.
Decoding runs in a worker thread (a national definition takes a second or
two of CPU), parsed in small steps (`core.json_steps`), so the event loop of
the service (faust's, uvicorn's) keeps its turns meanwhile. Memory: the decoded
definitions (about 300 bytes a precinct), the parts of revisions still being
published, and with `keep_documents` (ingest, for `GET`) each definition's
canonical JSON text as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from votewire.core.codec import DefinitionError, decode_definition
from votewire.core.definition_decoder import paused_gc
from votewire.core.definition_records import (
    Assembler,
    Complete,
    Header,
    Removed,
    Retired,
    Skipped,
    Unretired,
)
from votewire.core.json_steps import loads_in_steps
from votewire.core.models import ElectionDefinition
from votewire.infra.kafka_topics import topic_partitions

log = logging.getLogger(__name__)


def decode_text(text: bytes) -> ElectionDefinition:
    """A complete revision's text as a definition; `DefinitionError`/`ValueError` if not.
    Parsed in steps (`json_steps`), so the thread it runs in never holds the GIL long."""
    with paused_gc():
        value = loads_in_steps(text)
    return decode_definition(value)


class DefinitionCatalog:
    def __init__(self, bootstrap: str, topic: str, *, keep_documents: bool = False) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.keep_documents = keep_documents
        self.skipped = 0
        self.assembler = Assembler()
        self._definitions: dict[str, ElectionDefinition] = {}
        self._documents: dict[str, bytes] = {}
        self._revisions: dict[str, str] = {}
        self._local: dict[str, tuple[str, ElectionDefinition, bytes]] = {}
        self._retired: dict[str, Retired] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._follow: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self.ready = asyncio.Event()
        """Set once every definition published before `start()` has been read."""

    def get(self, election_id: str) -> ElectionDefinition | None:
        return self._definitions.get(election_id)

    def all(self) -> dict[str, ElectionDefinition]:
        return dict(self._definitions)

    def document(self, election_id: str) -> bytes | None:
        """The definition's canonical JSON (`keep_documents` only; else None)."""
        return self._documents.get(election_id)

    def revision(self, election_id: str) -> str | None:
        return self._revisions.get(election_id)

    def headers(self) -> dict[str, Header]:
        """The newest header per election seen on the topic (complete or not)."""
        return self.assembler.headers()

    def retirement(self, election_id: str) -> Retired | None:
        """The election's retirement, if it is retired."""
        return self._retired.get(election_id)

    def listen(self, listener: Callable[[str], None]) -> None:
        """Call `listener(election_id)` on every change of an election (module doc)."""
        self._listeners.append(listener)

    def put_retirement_local(self, election_id: str, retired: Retired | None) -> None:
        """Read-your-writes for the process that just published (None: withdrew) the
        retirement of `election_id`; the record coming back from the topic agrees."""
        if retired is None:
            self._retired.pop(election_id, None)
        else:
            self._retired[election_id] = retired
        self._notify(election_id)

    def _notify(self, election_id: str) -> None:
        for listener in self._listeners:
            try:
                listener(election_id)
            except Exception:  # a listener's bug must not stop the catalog
                log.exception("definition catalog listener failed on %r", election_id)

    def put_local(self, definition: ElectionDefinition, revision: str, document: bytes) -> None:
        """Read-your-writes for the process that just published `revision` of `definition`
        (whose canonical text is `document`). When the revision comes back from the
        topic it is not decoded again. An older revision still on its way from the
        topic may show for a moment until this one arrives (concurrent loads only)."""
        self._local[definition.election_id] = (revision, definition, document)
        self._store(definition.election_id, revision, definition, document)
        self._notify(definition.election_id)

    async def wait_for(self, election_id: str, timeout_s: float) -> ElectionDefinition | None:
        """The definition, waiting up to `timeout_s` for it to arrive on the topic."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: election_id in self._definitions),
                    timeout_s,
                )
        return self._definitions.get(election_id)

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:  # a failed start must leave nothing open: start() may be retried
            await consumer.start()
            partitions = [
                TopicPartition(self.topic, p)
                for p in await topic_partitions(self.bootstrap, self.topic) or [0]
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            newest: dict[str, Complete | None] = {}
            while await self._behind(consumer, end):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        for event in self._offer(record.key, record.value, record.timestamp):
                            if isinstance(event, Complete):
                                newest[event.election_id] = event
                            elif isinstance(event, Removed):
                                newest[event.election_id] = None
            for complete in newest.values():
                if complete is not None:
                    await self._apply(complete)
            self._retired.update(self.assembler.retired())
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._follow = asyncio.create_task(self._follow_topic(consumer))
        self.ready.set()
        for election_id in sorted(set(self._definitions) | set(self._retired)):
            self._notify(election_id)

    @staticmethod
    async def _behind(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
        for tp, offset in end.items():
            if await consumer.position(tp) < offset:
                return True
        return False

    async def _follow_topic(self, consumer: AIOKafkaConsumer) -> None:
        async for record in consumer:
            for event in self._offer(record.key, record.value, record.timestamp):
                if isinstance(event, Complete):
                    await self._apply(event)
                elif isinstance(event, Removed):
                    self._forget(event.election_id)
                elif isinstance(event, Retired):
                    self._retired[event.election_id] = event
                else:
                    self._retired.pop(event.election_id, None)
                self._notify(event.election_id)
            async with self._changed:
                self._changed.notify_all()

    def _offer(
        self, key: bytes | None, value: bytes | None, timestamp_ms: int
    ) -> list[Complete | Removed | Retired | Unretired]:
        events: list[Complete | Removed | Retired | Unretired] = []
        for event in self.assembler.offer(key, value, timestamp_ms):
            if isinstance(event, Skipped):
                self.skipped += 1
                log.error("skipping definition record %r: %s", event.key, event.reason)
            else:
                events.append(event)
        return events

    async def _apply(self, event: Complete) -> None:
        local = self._local.pop(event.election_id, None)
        if local is not None and local[0] == event.revision:
            self._store(event.election_id, event.revision, local[1], local[2])
            return
        try:
            definition = await asyncio.to_thread(decode_text, event.text)
        except (DefinitionError, ValueError, RecursionError) as exc:
            self.skipped += 1
            log.error("skipping undecodable definition %r: %r", event.election_id, exc)
            return
        if definition.election_id != event.election_id:
            self.skipped += 1
            log.error("skipping definition filed under %r: it is %r", event.election_id,
                      definition.election_id)  # fmt: skip
            return
        self._store(event.election_id, event.revision, definition, event.text)

    def _store(
        self, election_id: str, revision: str, definition: ElectionDefinition, document: bytes
    ) -> None:
        self._definitions[election_id] = definition
        self._revisions[election_id] = revision
        if self.keep_documents:
            self._documents[election_id] = document

    def _forget(self, election_id: str) -> None:
        self._definitions.pop(election_id, None)
        self._revisions.pop(election_id, None)
        self._documents.pop(election_id, None)

    async def stop(self) -> None:
        if self._follow:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
        if self._consumer:
            await self._consumer.stop()
