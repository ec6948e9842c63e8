"""The aggregate's dead letters, and the guard that keeps an output from stopping it.

`DeadLetters.refuse` writes one record in the schema of
`votewire.core.dead_letter` (`"stage": "aggregate"`): a record stage 1
cannot fold, or an output no topic would take. It is counted
(`dead_letters`, and `dead_letters_<reason>`) and shows on /healthz and
/metrics.

`SizeGuard` wraps a `ports.Downstream`: a value over `limit` bytes is not
sent (the broker would refuse it, the producer would fail the batch and the
worker would crash-loop on the same input) but dead-lettered as
`output_too_large`, with its first KiB as the payload. Every other output
keeps flowing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Downstream
from votewire.core.dead_letter import dead_letter_record

log = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 900 * 1024
"""Below Kafka's default max.message.bytes (1 MiB) with room for the record's framing."""
SHOWN_BYTES = 1024


def _election_of(value: bytes | None) -> str | None:
    if not value or len(value) > 1 << 20:
        return None
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        return None
    found = doc.get("election_id") if isinstance(doc, dict) else None
    return found if isinstance(found, str) else None


class DeadLetters:
    """Sends the aggregate's dead letters (see the module doc)."""

    def __init__(
        self,
        downstream: Downstream,
        metrics: Metrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.downstream = downstream
        self.metrics = metrics
        self.clock = clock

    async def refuse(
        self, key: bytes | None, value: bytes | None, reason: str, detail: str
    ) -> None:
        self.metrics.count("dead_letters")
        self.metrics.count(f"dead_letters_{reason}")
        record_key, letter = dead_letter_record(
            "aggregate",
            self.clock(),
            [{"code": reason, "field": None, "message": detail[:1000]}],
            (value or b"").decode(errors="replace"),
            election_id=_election_of(value),
            key=key,
        )
        await self.downstream.send(record_key, letter)


class SizeGuard:
    """`ports.Downstream` that dead-letters values over `limit` bytes instead of sending them."""

    def __init__(
        self, inner: Downstream, name: str, dead_letters: DeadLetters, limit: int = MAX_OUTPUT_BYTES
    ) -> None:
        self.inner = inner
        self.name = name
        self.dead_letters = dead_letters
        self.limit = limit

    async def send(self, key: bytes | None, value: bytes) -> None:
        if len(value) <= self.limit:
            await self.inner.send(key, value)
            return
        self.dead_letters.metrics.count("outputs_too_large")
        log.error("output to %s of %d bytes (key %r) is over %d: dead-lettered",
                  self.name, len(value), key, self.limit)  # fmt: skip
        await self.dead_letters.refuse(
            key,
            value[:SHOWN_BYTES],
            "output_too_large",
            f"{len(value)} bytes for {self.name}, over the limit of {self.limit}",
        )
