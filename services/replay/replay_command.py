"""`votewire replay`: re-consume the reports topic into a separate Redis namespace.

    votewire replay --namespace NAME [--from TIME] [--until TIME | --as-of TIME]
                    [--election ID] [--definition DEF.json] [--json] [--progress]

Reads the definitions topic (or `--definition`), then the reports topic from
the beginning (or from `--from`) to its end offsets at start, with a plain
consumer (no group, no commits: the live pipeline is not disturbed); folds
the records delivered within the window with the live pipeline's own code
(`log_fold.LogFold`: the core's `ElectionTally`); then replaces the
namespace `<VOTEWIRE_REDIS_PREFIX>-replay-<NAME>` with every view, on the
live channel names (`view_channels`). The live keys are never touched.

`--as-of T` (`--until T`) gives the views as they stood at T: only records
delivered (Kafka timestamp) at or before T are folded; see
`votewire.replay.as_of` for why delivery time is the clock.

Exit status: 0 when every record in the window was folded, 1 when some
could not be (listed on stderr, counted in the summary), 2 when the replay
could not run (no Kafka or Redis, bad arguments, no definition).
A progress line (rate, ETA) is drawn on stderr when it is a TTY or with
`--progress`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import click
import redis.asyncio as aioredis
from votewire.command import DEFINITION, EXIT_FINDINGS, EXIT_OK, progress_line, progress_option
from votewire.command import command as votewire_command
from votewire.config import Settings
from votewire.core.models import ElectionDefinition
from votewire.infra.topic_log import KafkaLog, total
from votewire.progress import Progress
from votewire.replay.as_of import BadTime, Window, window_of
from votewire.replay.log_fold import LogFold, definitions_of
from votewire.replay.replay_store import BadNamespace, ReplayNamespace, namespace_prefix
from votewire.replay.view_channels import view_documents


class ReplayError(Exception):
    """The replay cannot run; the message says why."""


async def replay(
    settings: Settings,
    *,
    namespace: str,
    window: Window,
    election: str | None = None,
    definitions: dict[str, ElectionDefinition] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run one replay (see the module doc); returns its summary."""
    prefix = namespace_prefix(settings.redis_prefix, namespace)
    started = time.monotonic()
    async with KafkaLog(settings.kafka_bootstrap) as log:
        if definitions is None:
            definitions = definitions_of(await log.read_all(settings.definitions_topic), window)
        if election is not None and election not in definitions:
            raise ReplayError(f"no definition of election {election!r}")
        if not definitions:
            raise ReplayError(
                f"no election definition on {settings.definitions_topic} (use --definition)"
            )
        fold = LogFold(definitions, window, elections=None if election is None else [election])
        bounds = await log.bounds(settings.reports_topic, window.start_ms)
        bar = progress or Progress(sys.stderr, enabled=False)
        bar.set_total(total(bounds))
        count = 0
        async for record in log.read(settings.reports_topic, bounds):
            fold.offer(record)
            count += 1
            bar.update(count)
        bar.finish(count)
    client = aioredis.from_url(settings.redis_url)
    try:
        store = ReplayNamespace(client, prefix, settings.redis_prefix)
        await store.clear()
        written = 0
        for tally in fold.tallies.values():
            written += await store.write(view_documents(tally))
        summary = {
            "namespace": namespace,
            "prefix": prefix,
            "topic": settings.reports_topic,
            "window": window.to_dict(),
            "records": count,
            "folded": fold.folded,
            "skipped": dict(fold.skipped),
            "skipped_records": fold.skipped_records,
            "elections": {e: dict(t.counters) for e, t in fold.tallies.items()},
            "views_written": written,
            "seconds": round(time.monotonic() - started, 3),
        }
        await store.put_meta({k: v for k, v in summary.items() if k != "skipped_records"})
    finally:
        await client.aclose()
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    skipped = {k: v for k, v in summary["skipped"].items() if k != "outside_window"}
    print(
        f"replayed {summary['records']:,} records of {summary['topic']} "
        f"({summary['folded']:,} folded) into {summary['prefix']}: "
        f"{summary['views_written']} views in {summary['seconds']:.1f}s"
    )
    window = summary["window"]
    if window["from"] or window["until"]:
        print(f"window: from {window['from'] or 'the beginning'} until {window['until'] or 'now'}")
    for election, counters in summary["elections"].items():
        print(f"{election}: " + ", ".join(f"{k}: {v:,}" for k, v in counters.items()))
    if skipped:
        print("skipped: " + ", ".join(f"{k}: {v:,}" for k, v in skipped.items()), file=sys.stderr)


@votewire_command(
    "replay",
    help="Re-fold the reports topic into <redis prefix>-replay-<NAME>.",
    cannot_run=(BadTime, BadNamespace, ReplayError),
)
@click.option("--namespace", required=True, metavar="NAME")
@click.option("--from", "start", metavar="TIME", help="Delivered at or after TIME.")
@click.option("--until", "--as-of", "end", metavar="TIME", help="The views as they stood at TIME.")
@click.option("--election", metavar="ID", help="Only this election.")
@click.option("--definition", type=DEFINITION, help="Instead of the definitions topic's.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@progress_option
def command(
    namespace: str,
    start: str | None,
    end: str | None,
    election: str | None,
    definition: ElectionDefinition | None,
    as_json: bool,
    show_progress: bool,
) -> int:
    """`votewire replay`; see the module doc for the exit status."""
    window = window_of(start, end)
    settings = Settings.from_env()
    namespace_prefix(settings.redis_prefix, namespace)
    summary = asyncio.run(
        replay(
            settings,
            namespace=namespace,
            window=window,
            election=election,
            definitions=None if definition is None else {definition.election_id: definition},
            progress=progress_line(show_progress, label="replay"),
        )
    )
    if as_json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        _print_summary(summary)
    skipped = sum(v for k, v in summary["skipped"].items() if k != "outside_window")
    return EXIT_FINDINGS if skipped else EXIT_OK
