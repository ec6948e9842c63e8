"""`votewire`: the one command-line entry point.

    votewire stack up|down|status [--brokers 3]   local Kafka + Redis
    votewire serve ingest|live                     HTTP/websocket services
    votewire aggregate                             the faust worker
    votewire rebuild                               rewrite every Redis view from Kafka
    votewire demo                                  stack + services + a simulated night
    votewire scenario kz-2021|national --out DIR   write a definition and a night of reports
    votewire election validate|load|list           check, load and list election definitions
    votewire tally --definition DEF REPORTS        fold a report file with the pure engine
    votewire tally ARCHIVE_DIR [--as-of T]         fold an exported archive offline
    votewire ingest FILE                           send a JSON-lines/CSV file of reports
    votewire replay --namespace N [--until T]      re-fold the reports topic into a namespace
    votewire archive export --out DIR | verify DIR the log as a hash-chained archive
    votewire audit A B [--json | --html F]         compare views, list anomalies

Each subcommand reads `Settings.from_env()` once and hands it to the
composition root of what it starts; nothing else reads the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import runpy
import sys
from collections.abc import Sequence

from votewire.config import NeedsCheckout, Settings, SettingsError, local_stack_script

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "votewire.sim.scenario_command",
    "votewire.election.command",
    "votewire.ingest.importer",
    "votewire.aggregate.rebuild",
    "votewire.replay.tally_command",
    "votewire.replay.replay_command",
    "votewire.replay.archive_command",
    "votewire.replay.audit_command",
    "votewire.demo",
)


def run_stack(args: argparse.Namespace) -> int:
    stack = runpy.run_path(str(local_stack_script()), run_name="votewire_stack")
    return int(stack["main"](args.stack_args))


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    if args.service == "ingest":
        from votewire.ingest.app import create_app as create_ingest

        app, port = create_ingest(settings), settings.ingest_port
    else:
        from votewire.live.app import create_app as create_live

        app, port = create_live(settings), settings.live_port
    uvicorn.run(
        app,
        host=settings.host,
        port=args.port or port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        ws="websockets-sansio",
        # Compression costs memory per socket; frames are small JSON and encoded once.
        ws_per_message_deflate=False,
        ws_max_size=65536,
    )
    return 0


def run_aggregate(args: argparse.Namespace) -> int:
    import faust
    from votewire.aggregate.app import create_app
    from votewire.infra.kafka_topics import cluster_replication, ensure_topics

    settings = Settings.from_env()
    asyncio.run(ensure_topics(settings))
    replication = asyncio.run(cluster_replication(settings))
    app = create_app(settings, replication=replication)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    # faust's spinner also turns the root logger to DEBUG at warning level: costly, and
    # meaningless without a terminal.
    worker.spinner = None
    worker.execute_from_commandline()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="votewire", description="Live election results.")
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="local Kafka + Redis: up | down | status")
    stack.add_argument("stack_args", nargs=argparse.REMAINDER)
    stack.set_defaults(func=run_stack)

    serve = sub.add_parser("serve", help="run the ingest or live HTTP service")
    serve.add_argument("service", choices=("ingest", "live"))
    serve.add_argument("--port", type=int, default=0, help="override the configured port")
    serve.set_defaults(func=run_serve)

    aggregate = sub.add_parser("aggregate", help="run an aggregate (faust) worker")
    aggregate.set_defaults(func=run_aggregate)

    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"votewire: configuration error: {exc}", file=sys.stderr)
        return 2
    except NeedsCheckout as exc:
        print(f"votewire {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
