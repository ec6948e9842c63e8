"""`votewire`: the one command-line entry point (click).

    votewire stack up|down|status [--brokers 3]   local Kafka + Redis
    votewire serve ingest|live                     HTTP/websocket services
    votewire aggregate                             the faust worker
    votewire rebuild                               rewrite every Redis view from Kafka
    votewire up                                    stack + the services, supervised, foreground
    votewire demo                                  `up` + a simulated night
    votewire scenario kz-2021|national --out DIR   write a definition and a night of reports
    votewire election validate|load|list           check, load and list election definitions
    votewire tally --definition DEF REPORTS        fold a report file with the pure engine
    votewire tally ARCHIVE_DIR [--as-of T]         fold an exported archive offline
    votewire ingest FILE                           send a JSON-lines/CSV file of reports
    votewire replay --namespace N [--until T]      re-fold the reports topic into a namespace
    votewire archive export --out DIR | verify DIR the log as a hash-chained archive
    votewire audit A B [--json | --html F]         compare views, list anomalies

Adding a subcommand is two steps (`votewire election validate|load|...`, say):

1. In the module that owns it, name its click command `command`, made with
   `votewire.command` (here a group of verbs; a single command is
   `@votewire_command("up", help=...)` on a function named `command`):

       import click
       from votewire.command import DEFINITION, EXIT_FINDINGS, EXIT_OK, Failed, group

       @group("election", help="Election definitions: validate, load, list, retire.")
       def command() -> None:
           pass

       @command.command("validate", help="Check a definition file.", cannot_run=(...))
       @click.argument("definition", type=DEFINITION)   # read and decoded, or exit 2
       def validate(definition: ElectionDefinition) -> int:
           ...
           raise Failed("why it cannot run")   # `votewire election validate: why`, exit 2
           return EXIT_FINDINGS if problems else EXIT_OK   # the exit status

2. Add one line to `COMMANDS` below: its name, "module:command", its one-line help.

That is all: the module is imported only when its command runs (or is asked
for `--help`), so `votewire --help` lists every command from `COMMANDS`
without importing Kafka or Redis clients; the return value of the function
is the exit status; `votewire.command` gives every command `-v`, the exit
statuses and the one mapping of failures to them (no traceback for anything
a user can cause), the definition-file type and the `--progress` option.
Each command that needs settings reads `Settings.from_env()` once and hands
them to the composition root of what it starts; nothing else reads the
environment. Logging goes to stderr at WARNING (INFO with `-v`); the
services (`serve`, `aggregate`) log at VOTEWIRE_LOG_LEVEL.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("votewire.stack_command:command", "Local Kafka + Redis: up | down | status."),
    "serve": ("votewire.serve_command:serve", "Run the ingest or live HTTP service."),
    "aggregate": ("votewire.serve_command:aggregate", "Run an aggregate (faust) worker."),
    "rebuild": (
        "votewire.aggregate.rebuild_command:command",
        "Rewrite every Redis view from the reports topic.",
    ),
    "up": ("votewire.up:command", "Stack + the three services in the foreground, supervised."),
    "demo": ("votewire.demo:command", "`up` + a simulated kz-2021 night."),
    "scenario": (
        "votewire.sim.scenario_command:command",
        "Write a reference scenario: definition.json + reports.jsonl.",
    ),
    "election": (
        "votewire.election.command:command",
        "Election definitions: validate a file, load it through ingest, list them.",
    ),
    "tally": (
        "votewire.replay.tally_command:command",
        "Fold a JSON-lines file of reports, or an archive, offline.",
    ),
    "ingest": ("votewire.ingest.importer:command", "Send a JSON-lines or CSV file of reports."),
    "replay": (
        "votewire.replay.replay_command:command",
        "Re-fold the reports topic into a separate Redis namespace.",
    ),
    "archive": (
        "votewire.replay.archive_command:command",
        "Export the event log to a hash-chained archive, or verify one.",
    ),
    "audit": (
        "votewire.replay.audit_command:command",
        "Compare two sets of views; list corrections, rejections and flags.",
    ),
}
"""name -> ("module:attribute" of its click command, one-line help for `votewire --help`)."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class Votewire(click.Group):
    """The root group: its subcommands are `COMMANDS`, each imported when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name][0].split(":")
        found: click.Command = getattr(importlib.import_module(module), attribute)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])


@click.group(cls=Votewire, help="Live election results, streamed.")
@click.version_option(package_name="votewire")
def votewire() -> None:
    pass


def run(cli: click.Command, argv: Sequence[str] | None, prog_name: str = "votewire") -> int:
    """Run a click command as `votewire` does: the exit status is what the command returned,
    or the failure's (`votewire.command.Failed`, a usage error: one line, no traceback)."""
    try:
        result: Any = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=prog_name,
            standalone_mode=False,
        )
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`votewire ARGS` (default: the process's); returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    return run(votewire, argv)


if __name__ == "__main__":
    sys.exit(main())
