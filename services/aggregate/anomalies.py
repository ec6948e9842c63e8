"""The dead-letter topic -> each election's anomaly feed.

Why the aggregate follows the dead-letter topic (rather than ingest writing
each refusal to Redis as well): the topic is the one record of every
refusal, ingest's *and* the aggregate's own (`dead_letters.py`), so one
follower sees both; it is durable, so the feed can be rebuilt by reading it
again; and ingest's answer path stays free of a second store to wait on.

`DeadLetterFollower.fold_batch(records)` turns each record that is a dead
letter of a known election (`core.anomaly.read_dead_letter`, the
definition through `ports.Definitions`) into an anomaly and offers it to
the sink. Anything else (no election, an unknown one, not a dead letter) is
counted and skipped; the path is total. At-least-once: a re-delivered
record makes the same `anomaly_id`, which the feed keeps once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from votewire.aggregate.metrics import Metrics
from votewire.aggregate.ports import Definitions, Record
from votewire.core.anomaly import AnomalySink, dead_letter_anomaly, read_dead_letter

log = logging.getLogger(__name__)


class DeadLetterFollower:
    """See the module doc. One per worker."""

    def __init__(self, definitions: Definitions, sink: AnomalySink, metrics: Metrics) -> None:
        self.definitions = definitions
        self.sink = sink
        self.metrics = metrics

    async def fold_batch(self, records: Sequence[Record]) -> None:
        for record in records:
            letter = read_dead_letter(record.value)
            definition = None
            if letter is not None:
                definition = await self.definitions.of(letter["election_id"])
            if letter is None or definition is None:
                self.metrics.count("anomaly_letters_without_election")
                continue
            try:
                self.sink.offer(dead_letter_anomaly(letter, definition))
            except Exception:  # the per-record path stays total
                log.exception("dead letter at partition %d not made an anomaly", record.partition)
                self.metrics.count("anomaly_letters_without_election")
                continue
            self.metrics.count("anomaly_letters_published")
