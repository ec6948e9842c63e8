"""Where an audit's views come from.

    redis            the live views (prefix VOTEWIRE_REDIS_PREFIX)
    redis:PREFIX     the views under another key prefix
    replay:NAME      a `votewire replay --namespace NAME` namespace
    archive:DIR      an archive folded offline (`archive_fold`; --as-of applies)
    csv:PATH[,PATH]  published tables (`published_tables`), compared partially

`parse_source` reads the text; the loaders turn a source into an
`audit_compare.ViewSet`. Redis sources are read channel by channel from the
definition (`view_channels.view_channels`: `summary:E`, `region:E:G`,
`race:E:R`), one pipelined round trip; a channel with no view is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from votewire.core.codec import loads
from votewire.core.models import ElectionDefinition
from votewire.core.tally import ElectionTally
from votewire.infra.redis_views import RedisViews
from votewire.replay.audit_compare import ViewSet
from votewire.replay.published_tables import read_tables
from votewire.replay.view_channels import view_channels

KINDS = ("redis", "replay", "archive", "csv")


class BadSource(ValueError):
    """A source text that is not one of the documented forms."""


@dataclass(frozen=True, slots=True)
class Source:
    kind: str
    arg: str
    """The prefix (redis; "" for the live one), namespace, directory or paths."""

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind

    @property
    def needs_kafka_definitions(self) -> bool:
        return self.kind in ("redis", "replay")

    def paths(self) -> list[Path]:
        return [Path(p) for p in self.arg.split(",") if p]


def parse_source(text: str) -> Source:
    """`redis`, `redis:PREFIX`, `replay:NAME`, `archive:DIR` or `csv:PATH[,PATH...]`."""
    kind, _, arg = text.partition(":")
    if kind not in KINDS:
        raise BadSource(f"unknown source {text!r}: use one of {', '.join(KINDS)} (KIND:ARG)")
    if kind != "redis" and not arg:
        raise BadSource(f"source {kind} needs an argument: {kind}:...")
    return Source(kind, arg)


def tally_views(label: str, tally: ElectionTally, note: str = "") -> ViewSet:
    """The views of a tally (a fold of the log) as a `ViewSet`."""
    views = tally.views()
    return ViewSet(
        label=label,
        election_id=tally.definition.election_id,
        national=dict(views["national"]),
        regions={k: dict(v) for k, v in views["regions"].items()},
        races={k: dict(v) for k, v in views["races"].items()},
        note=note,
    )


async def redis_views(
    client: aioredis.Redis, prefix: str, definition: ElectionDefinition, label: str
) -> ViewSet:
    """The views stored under `prefix` for the election (absent channels left out)."""
    store = RedisViews(client, prefix)
    channels = view_channels(definition)
    async with client.pipeline(transaction=False) as pipe:
        for _, _, channel in channels:
            pipe.hget(store.view_key(channel), "doc")
        docs: list[bytes | None] = await pipe.execute()
    found = ViewSet(label=label, election_id=definition.election_id)
    for (scope, ident, _), doc in zip(channels, docs, strict=True):
        if doc is None:
            continue
        view: dict[str, Any] = dict(loads(doc))
        if scope == "national":
            found.national = view
        elif scope == "region":
            found.regions[str(ident)] = view
        else:
            found.races[str(ident)] = view
    return found


def table_views(source: Source, election_id: str) -> ViewSet:
    """The published tables of a `csv:` source."""
    return read_tables(source.paths(), election_id, source.label)
