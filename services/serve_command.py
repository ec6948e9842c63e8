"""`votewire serve ingest|live` and `votewire aggregate`: run a service in this process.

Each reads `Settings.from_env()` once, builds the service with its
composition root (`create_app(settings)`) and runs it until it is stopped
(SIGTERM/SIGINT). Services log at VOTEWIRE_LOG_LEVEL (the other commands at
WARNING unless `-v`).
"""

from __future__ import annotations

import asyncio
import logging

import click
from votewire.command import command
from votewire.config import Settings


def _settings() -> Settings:
    settings = Settings.from_env()
    logging.getLogger().setLevel(settings.log_level.upper())
    return settings


@command("serve", help="Run the ingest or the live HTTP service until stopped.")
@click.argument("service", type=click.Choice(["ingest", "live"]))
@click.option("--port", type=int, default=0, help="Override the configured port.")
def serve(service: str, port: int) -> int:
    import uvicorn

    settings = _settings()
    if service == "ingest":
        from votewire.ingest.app import create_app as create_ingest

        app, configured = create_ingest(settings), settings.ingest_port
    else:
        from votewire.live.app import create_app as create_live

        app, configured = create_live(settings), settings.live_port
    uvicorn.run(
        app,
        host=settings.host,
        port=port or configured,
        log_level=settings.log_level,
        access_log=settings.access_log,
        ws="websockets-sansio",
        # Compression costs memory per socket; frames are small JSON and encoded once.
        ws_per_message_deflate=False,
        ws_max_size=65536,
    )
    return 0


@command("aggregate", help="Run an aggregate worker (VOTEWIRE_AGGREGATE_ROLE) until stopped.")
def aggregate() -> int:
    settings = _settings()
    if settings.aggregate_role == "races":  # stage 1 on a plain consumer, no faust
        from votewire.aggregate.races_worker import serve as serve_races

        asyncio.run(serve_races(settings))
        return 0

    import faust
    from votewire.aggregate.app import create_app
    from votewire.infra.kafka_topics import (
        cluster_replication,
        ensure_topics,
        stage_topics,
        votewire_topics,
    )

    # The stages' internal topics too, before faust subscribes: faust declares them
    # itself, but a topic it creates at start-up can be missing from the metadata of
    # its first assignment; its partitions then go unassigned ("Ignoring missing
    # topic") and stage 3 folds nothing until the next metadata refresh (minutes).
    asyncio.run(
        ensure_topics(settings, topics=[*votewire_topics(settings), *stage_topics(settings)])
    )
    replication = asyncio.run(cluster_replication(settings))
    app = create_app(settings, replication=replication)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    # faust's spinner also turns the root logger to DEBUG at warning level: costly, and
    # meaningless without a terminal.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if not exc.code and settings.aggregate_instance_id:
            # A clean stop of a static member: leave, so its partitions move now, not
            # after the session timeout (infra/group_leave.py; faust's consumer never does).
            from votewire.aggregate.app import group_id
            from votewire.infra.group_leave import leave_group

            asyncio.run(
                leave_group(
                    settings.kafka_bootstrap, group_id(settings), settings.aggregate_instance_id
                )
            )
        raise
    return 0
