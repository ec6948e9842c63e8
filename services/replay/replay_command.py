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

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import redis.asyncio as aioredis
from aiokafka.errors import KafkaError
from votewire.config import Settings
from votewire.core.codec import DefinitionError, decode_definition
from votewire.core.models import ElectionDefinition
from votewire.infra.topic_log import KafkaLog, total
from votewire.replay.as_of import BadTime, Window, window_of
from votewire.replay.log_fold import LogFold, definitions_of
from votewire.replay.progress import Progress
from votewire.replay.replay_store import BadNamespace, ReplayNamespace, namespace_prefix
from votewire.replay.view_channels import view_documents


class ReplayError(Exception):
    """The replay cannot run; the message says why."""


def add_parser(subparsers: Any) -> None:
    """Register `votewire replay`."""
    parser = subparsers.add_parser(
        "replay",
        help="re-consume the reports topic into a separate Redis namespace",
        description="Re-fold the reports topic into <redis prefix>-replay-<NAME>.",
    )
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", required=True, metavar="NAME")
    parser.add_argument("--from", dest="start", metavar="TIME", help="delivered at or after TIME")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--until", dest="end", metavar="TIME", help="delivered at or before TIME")
    end.add_argument("--as-of", dest="end", metavar="TIME", help="the views as they stood at TIME")
    parser.add_argument("--election", metavar="ID", help="only this election")
    parser.add_argument("--definition", metavar="DEF.json", help="instead of the topic's")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--progress", action="store_true", help="draw progress on stderr")
    parser.set_defaults(func=run)


def _definitions(path: str | None) -> dict[str, ElectionDefinition] | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            definition = decode_definition(json.load(fh))
    except (OSError, ValueError) as exc:
        kind = "bad definition" if isinstance(exc, DefinitionError) else "cannot read definition"
        raise ReplayError(f"{kind}: {exc}") from None
    return {definition.election_id: definition}


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


def run(args: argparse.Namespace) -> int:
    """Run `votewire replay` with parsed arguments; returns the exit status."""
    try:
        window = window_of(args.start, args.end)
        definitions = _definitions(args.definition)
        settings = Settings.from_env()
        namespace_prefix(settings.redis_prefix, args.namespace)
    except (BadTime, BadNamespace, ReplayError) as exc:
        print(f"votewire replay: {exc}", file=sys.stderr)
        return 2
    show = bool(args.progress) or sys.stderr.isatty()
    progress = Progress(sys.stderr, enabled=show, label="replay")
    try:
        summary = asyncio.run(
            replay(
                settings,
                namespace=args.namespace,
                window=window,
                election=args.election,
                definitions=definitions,
                progress=progress,
            )
        )
    except ReplayError as exc:
        print(f"votewire replay: {exc}", file=sys.stderr)
        return 2
    except (KafkaError, aioredis.RedisError, OSError) as exc:
        print(f"votewire replay: cannot reach Kafka or Redis: {exc!r}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        _print_summary(summary)
    skipped = sum(v for k, v in summary["skipped"].items() if k != "outside_window")
    return 1 if skipped else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m votewire.replay.replay_command ...`."""
    parser = argparse.ArgumentParser(prog="votewire replay")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
