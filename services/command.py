"""What every `votewire` subcommand is written with; `votewire.cli` says how to add one.

- `command()` and `group()`: click's, with two things every command gets:
  `-v/--verbose` (library logs at INFO, `-vv` DEBUG; WARNING otherwise, so
  aiokafka's INFO lines stay off stderr) and the one mapping of failures to
  exit statuses below.
- Exit statuses: `EXIT_OK` 0; `EXIT_FINDINGS` 1, the command ran and found
  something (rejected lines, differences, a broken archive); `EXIT_CANNOT_RUN`
  2, it could not run. A command may add its own (ingest: 3, not delivered).
- "Could not run" is one line on stderr, `votewire NAME: why`, never a
  traceback: a `Failed` raised by the command; a usage error (click's own
  message and usage); and, mapped here, a configuration error
  (`SettingsError`), a command that needs the checkout (`NeedsCheckout`), a
  Kafka or Redis error, an `OSError`, and the exceptions a command lists in
  `cannot_run=` (its inputs' own errors, e.g. `BadTime`). Anything else is a
  bug and keeps its traceback.
- `DEFINITION`: the parameter type of an election definition file, the one
  place such a file is read (UTF-8 JSON through `codec.loads_untrusted`, then
  `decode_definition`); a file that is not one is a usage error naming it.
- `progress_option` (`--progress`) and `progress_line(...)`: the
  `votewire.progress` line, drawn when asked or when stderr is a terminal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from votewire.config import NeedsCheckout, SettingsError
from votewire.core.codec import DefinitionError, MalformedJson, decode_definition, loads_untrusted
from votewire.core.models import ElectionDefinition
from votewire.progress import Progress

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


class Failed(click.ClickException):
    """The command cannot run: `votewire NAME: message` on stderr, exit `status`."""

    def __init__(self, message: str, status: int = EXIT_CANNOT_RUN) -> None:
        super().__init__(message)
        self.exit_code = status
        context = click.get_current_context(silent=True)
        self.command_path = context.command_path if context else "votewire"

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.command_path}: {self.format_message()}", err=True)


def _verbosity(context: click.Context, param: click.Parameter, count: int) -> None:
    if count:
        logging.getLogger().setLevel(logging.DEBUG if count > 1 else logging.INFO)


def _why_it_cannot_run(exc: Exception, expected: tuple[type[Exception], ...]) -> str | None:
    """The message of a failure that means "could not run", or None for a bug."""
    if isinstance(exc, SettingsError):
        return f"configuration error: {exc}"
    if isinstance(exc, NeedsCheckout | OSError) or (expected and isinstance(exc, expected)):
        return str(exc)
    # Only a module already imported can have raised its errors: look them up, no import.
    kafka, redis = sys.modules.get("aiokafka.errors"), sys.modules.get("redis.exceptions")
    if kafka is not None and isinstance(exc, kafka.KafkaError):
        return f"Kafka: {exc}"
    if redis is not None and isinstance(exc, redis.RedisError):
        return f"Redis: {exc}"
    return None


class Command(click.Command):
    """A click command with `-v` and the failure mapping of the module doc."""

    def __init__(
        self, *args: Any, cannot_run: tuple[type[Exception], ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cannot_run = cannot_run
        self.params.append(
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                is_eager=True,
                callback=_verbosity,
                help="Log the libraries' INFO lines too (-vv: DEBUG).",
            )
        )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            why = _why_it_cannot_run(exc, self.cannot_run)
            if why is None:
                raise
            failure = Failed(why)
            failure.command_path = ctx.command_path
            raise failure from exc


class Group(click.Group):
    """A click group whose subcommands are `Command`s (and subgroups `Group`s)."""

    command_class = Command
    group_class = type

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order defined (click sorts them)


def command(name: str | None = None, **attrs: Any) -> Callable[[F], Command]:
    """`@click.command`, as a `Command` (`cannot_run=(...)` accepted)."""
    return click.command(name, cls=Command, **attrs)


def group(name: str | None = None, **attrs: Any) -> Callable[[F], Group]:
    """`@click.group`, as a `Group`."""
    return click.group(name, cls=Group, **attrs)


class DefinitionFile(click.ParamType):
    """An election definition file -> `ElectionDefinition` (see the module doc)."""

    name = "DEF.json"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return self.name

    def convert(self, value: Any, param: Any, ctx: Any) -> ElectionDefinition:
        if isinstance(value, ElectionDefinition):
            return value
        path = Path(value)
        try:
            return decode_definition(loads_untrusted(path.read_bytes()))
        except OSError as exc:
            self.fail(f"cannot read {path}: {exc.strerror or exc}", param, ctx)
        except MalformedJson as exc:
            self.fail(f"{path} is not JSON: {exc}", param, ctx)
        except DefinitionError as exc:
            self.fail(f"bad definition: {exc}", param, ctx)


DEFINITION = DefinitionFile()


def progress_option(function: F) -> F:
    """`--progress`: draw the progress line even when stderr is not a terminal."""
    option = click.option(
        "--progress",
        "show_progress",
        is_flag=True,
        help="Draw progress on stderr (drawn anyway when stderr is a terminal).",
    )
    return option(function)


def progress_line(show: bool, **kwargs: Any) -> Progress:
    """A `Progress` on stderr, enabled when asked (`--progress`) or stderr is a terminal."""
    return Progress(sys.stderr, enabled=show or sys.stderr.isatty(), **kwargs)
