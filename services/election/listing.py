"""`votewire election list`: the elections on the definitions topic, newest date first.

    votewire election list [--json]

Reads the definitions topic to its current end (no consumer group; nothing
changes on the cluster) and shows per election its newest header: id, date,
name, regions, races, precincts, test flag, revision, and whether that
revision is complete (all of its parts are there; only then do services see
it), and when it was retired (`votewire election retire`; "-": it is not).
Only the small headers are decoded; a definition written in the layout
before parts (one record) is decoded to be summarised. Needs
VOTEWIRE_KAFKA_BOOTSTRAP (or the local stack).

Exit status: 0; 3 Kafka could not be read.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
from aiokafka.errors import KafkaError
from votewire.command import command as votewire_command
from votewire.config import Settings
from votewire.core.codec import DefinitionError, decode_definition, loads
from votewire.core.definition_records import Assembler, Complete
from votewire.infra.topic_log import KafkaLog

EXIT_OK, EXIT_UNREADABLE = 0, 3
COLUMNS = (
    "election_id", "date", "regions", "races", "precincts", "test", "complete", "retired", "name",
)  # fmt: skip


async def elections(settings: Settings) -> list[dict[str, Any]]:
    """One entry per election with a header on the topic, newest date first."""
    assembler = Assembler()
    legacy: dict[str, dict[str, Any]] = {}
    async with KafkaLog(settings.kafka_bootstrap) as log:
        topic = settings.definitions_topic
        async for record in log.read(topic, await log.bounds(topic)):
            for event in assembler.offer(record.key, record.value, record.timestamp_ms):
                if isinstance(event, Complete) and event.revision.startswith("legacy-"):
                    legacy[event.election_id] = _summary(event.text)
    found = []
    retired = assembler.retired()
    for election_id, header in assembler.headers().items():
        summary = header.summary or legacy.get(election_id, {})
        found.append(
            {
                "election_id": election_id,
                **{k: summary.get(k) for k in ("date", "name", "regions", "races", "precincts")},
                "test": bool(summary.get("test", False)),
                "revision": header.revision,
                "complete": assembler.visible(election_id) == header.revision,
                "bytes": header.size,
                "retired": retired[election_id].retired_at if election_id in retired else None,
            }
        )
    return sorted(found, key=lambda e: (str(e["date"] or ""), e["election_id"]), reverse=True)


def _summary(text: bytes) -> dict[str, Any]:
    try:
        definition = decode_definition(loads(text))
    except (DefinitionError, ValueError, RecursionError):
        return {}
    return {
        "name": definition.name,
        "date": definition.date,
        "test": definition.test,
        "regions": len(definition.regions),
        "races": len(definition.races),
        "precincts": sum(len(r.precincts) for r in definition.races),
    }


@votewire_command("list", help="List every election definition published, newest date first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def command(as_json: bool) -> int:
    settings = Settings.from_env()
    try:
        found = asyncio.run(elections(settings))
    except (KafkaError, OSError) as exc:
        print(
            f"votewire election list: cannot read the definitions topic: {exc!r}", file=sys.stderr
        )
        return EXIT_UNREADABLE
    if as_json:
        print(json.dumps({"elections": found}, ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = [[str(e[c]) if e[c] is not None else "-" for c in COLUMNS] for e in found]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(COLUMNS)]
    for row in [list(COLUMNS), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not found:
        print(f"(no election on {settings.definitions_topic})", file=sys.stderr)
    return EXIT_OK
