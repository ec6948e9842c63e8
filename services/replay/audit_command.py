"""`votewire audit`: compare two sets of views and list the night's anomalies.

    votewire audit LEFT RIGHT [--election ID] [--definition DEF.json]
                   [--log auto|kafka|none|archive:DIR] [--as-of TIME] [--from TIME]
                   [--json] [--html FILE] [--progress]

LEFT and RIGHT are sources (`audit_sources`): `redis[:PREFIX]`,
`replay:NAME`, `archive:DIR`, `csv:PATH[,PATH...]`. Every difference is
listed per nation, region and race (`audit_compare`), then the anomalies of
the log (`audit_anomalies`): corrections, stale and duplicate reports,
conflicts, soft flags, rejected reports by reason.

Output: a table on stdout; `--json` one document instead; `--html FILE` also
writes a self-contained HTML report (`audit_html`). Exit status: 0 if the
two sources agree, 1 if they differ, 2 if the audit could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka.errors import KafkaError
from votewire.config import Settings
from votewire.core.codec import DefinitionError, decode_definition
from votewire.core.models import ElectionDefinition
from votewire.replay.archive_fold import NoDefinition
from votewire.replay.archive_manifest import ManifestError
from votewire.replay.archive_reader import ArchiveBroken
from votewire.replay.as_of import BadTime, window_of
from votewire.replay.audit_html import render_html
from votewire.replay.audit_render import render_audit
from votewire.replay.audit_run import run_audit
from votewire.replay.audit_sources import BadSource, parse_source
from votewire.replay.progress import Progress
from votewire.replay.published_tables import BadTable
from votewire.replay.replay_store import BadNamespace


def add_parser(subparsers: Any) -> None:
    """Register `votewire audit`."""
    parser = subparsers.add_parser(
        "audit",
        help="compare two sets of views; list corrections, rejections and flags",
        description="Compare two sets of views (redis[:PREFIX], replay:NAME, archive:DIR, "
        "csv:PATH) and list the anomalies of the event log.",
    )
    configure(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("left", metavar="LEFT", help="redis[:PREFIX] | replay:NAME | archive:DIR")
    parser.add_argument("right", metavar="RIGHT", help="... | csv:PATH[,PATH...]")
    parser.add_argument("--election", metavar="ID")
    parser.add_argument("--definition", metavar="DEF.json")
    parser.add_argument(
        "--log",
        default="auto",
        metavar="auto|kafka|none|archive:DIR",
        help="where the anomaly list comes from (default: auto)",
    )
    parser.add_argument("--from", dest="start", metavar="TIME")
    parser.add_argument("--as-of", "--until", dest="end", metavar="TIME")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--html", metavar="FILE", type=Path, help="write an HTML report")
    parser.add_argument("--progress", action="store_true", help="draw progress on stderr")
    parser.set_defaults(func=run)


def _definition(path: str | None) -> ElectionDefinition | None:
    if path is None:
        return None
    with open(path, encoding="utf-8") as fh:
        return decode_definition(json.load(fh))


def run(args: argparse.Namespace) -> int:
    """Run `votewire audit` with parsed arguments; returns the exit status."""
    try:
        left, right = parse_source(args.left), parse_source(args.right)
        window = window_of(args.start, args.end)
        definition = _definition(args.definition)
        settings = Settings.from_env()
        show = bool(args.progress) or sys.stderr.isatty()
        progress = Progress(sys.stderr, enabled=show, label="audit")
        result = asyncio.run(
            run_audit(
                settings,
                left,
                right,
                election=args.election,
                definition=definition,
                log=args.log,
                window=window,
                progress=progress,
            )
        )
    except (BadSource, BadTime, BadTable, BadNamespace, ManifestError, NoDefinition) as exc:
        print(f"votewire audit: {exc}", file=sys.stderr)
        return 2
    except ArchiveBroken as exc:
        print(f"votewire audit: archive fails verification: {exc}", file=sys.stderr)
        return 2
    except DefinitionError as exc:
        print(f"votewire audit: bad definition: {exc}", file=sys.stderr)
        return 2
    except (KafkaError, aioredis.RedisError, OSError, ValueError) as exc:
        print(f"votewire audit: {exc!r}", file=sys.stderr)
        return 2
    doc = result.to_dict()
    if args.html is not None:
        args.html.write_text(render_html(result), encoding="utf-8")
    if args.json:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_audit(doc))
    return 1 if result.differences else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m votewire.replay.audit_command ...`."""
    parser = argparse.ArgumentParser(prog="votewire audit")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
