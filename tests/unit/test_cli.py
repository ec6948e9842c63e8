"""The `votewire` command line: one registry, lazy imports, one mapping of failures to exit
statuses, -v for library logs, the definition-file type."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from builders import definition_dict
from votewire.cli import COMMANDS, Votewire, main, run
from votewire.command import DEFINITION, Failed, command
from votewire.config import SettingsError


def test_help_lists_every_command_without_importing_any() -> None:
    """`votewire --help` comes from COMMANDS alone: no command module, no Kafka, Redis,
    faust or Starlette is imported to print it."""
    probe = (
        "import sys; from votewire.cli import main; code = main(['--help']); "
        "heavy = [m for m in ('aiokafka', 'redis', 'faust', 'starlette', 'votewire.command') "
        "if m in sys.modules]; print('IMPORTED', heavy); sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "IMPORTED []" in proc.stdout
    for name, (_, text) in COMMANDS.items():
        assert f"{name}  " in proc.stdout and text.split()[0] in proc.stdout


def test_every_registered_command_is_a_votewire_command_of_that_name() -> None:
    """Each COMMANDS entry imports to a click command called as registered, with help."""
    group = Votewire()
    context = click.Context(group)
    for name in COMMANDS:
        found = group.get_command(context, name)
        assert isinstance(found, click.Command) and found.name == name, name
        assert found.help, name


def test_stack_help_lists_its_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    """`votewire stack --help` names up, down and status (it used to show `stack_args`)."""
    assert main(["stack", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {verb} " in out for verb in ("up", "down", "status"))


def test_an_unknown_command_or_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 with click's message; no traceback."""
    assert main(["nope"]) == 2
    assert main(["tally", "--no-such-option", "x"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'nope'" in err and "No such option" in err
    assert "Traceback" not in err


class Unusable(ValueError):
    """An input error a command declares with cannot_run=."""


@command("probe", cannot_run=(Unusable,))
@click.argument("what")
def probe(what: str) -> int:
    if what == "settings":
        raise SettingsError("VOTEWIRE_X: not a number")
    if what == "declared":
        raise Unusable("the input says no")
    if what == "failed":
        raise Failed("cannot, and says why", 3)
    if what == "file":
        Path("/nonexistent/votewire").read_text()
    if what == "bug":
        raise RuntimeError("a bug")
    logging.getLogger("aiokafka").info("an INFO line")
    return 1 if what == "findings" else 0


@pytest.mark.parametrize(
    ("what", "status", "message"),
    [
        ("settings", 2, "probe: configuration error: VOTEWIRE_X: not a number"),
        ("declared", 2, "probe: the input says no"),
        ("failed", 3, "probe: cannot, and says why"),
        ("file", 2, "probe: [Errno 2] No such file or directory"),
        ("findings", 1, ""),
        ("fine", 0, ""),
    ],
)
def test_failures_map_to_one_line_and_an_exit_status(
    what: str, status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a user can cause is one line on stderr and a status; what a command returns is
    its status."""
    assert run(probe, [what], prog_name="probe") == status
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err


def test_a_bug_keeps_its_traceback() -> None:
    """An exception nobody declared is not turned into a tidy line: it is a bug."""
    with pytest.raises(RuntimeError, match="a bug"):
        run(probe, ["bug"], prog_name="probe")


@pytest.fixture
def root_level() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


@pytest.mark.usefixtures("root_level")
def test_verbose_turns_library_logs_on() -> None:
    """Every command takes -v (INFO) and -vv (DEBUG), after its arguments too."""
    logging.getLogger().setLevel(logging.WARNING)
    assert run(probe, ["fine", "-v"], prog_name="probe") == 0
    assert logging.getLogger().level == logging.INFO
    assert run(probe, ["-vv", "fine"], prog_name="probe") == 0
    assert logging.getLogger().level == logging.DEBUG


CHATTY = """
import logging, sys, types
import votewire.cli as cli
from votewire.command import command

@command("chatty", help="Logs like aiokafka does.")
def chatty() -> int:
    logging.getLogger("aiokafka.consumer").info("an INFO line")
    logging.getLogger("aiokafka.consumer").warning("a WARNING line")
    return 0

module = types.ModuleType("chatty_module")
module.command = chatty
sys.modules["chatty_module"] = module
cli.COMMANDS["chatty"] = ("chatty_module:command", "Logs like aiokafka does.")
sys.exit(cli.main(["chatty", *sys.argv[1:]]))
"""


@pytest.mark.parametrize(("argv", "info_shown"), [([], False), (["-v"], True)])
def test_tools_log_warnings_only_unless_asked(argv: list[str], info_shown: bool) -> None:
    """In a fresh process, a command added with one COMMANDS line runs; the libraries'
    INFO lines (aiokafka's) stay off stderr unless -v, their warnings always show."""
    proc = subprocess.run(
        [sys.executable, "-c", CHATTY, *argv],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "WARNING aiokafka.consumer a WARNING line" in proc.stderr
    assert ("INFO aiokafka.consumer an INFO line" in proc.stderr) is info_shown


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"{", "is not JSON: Expecting property name"),
        (b"[" * 100_000, "is not JSON: nested deeper than 64 arrays/objects"),
        (json.dumps(definition_dict(share_base="x")).encode(), "bad definition: $.share_base"),
    ],
)
def test_a_definition_file_that_is_not_one_is_a_usage_error_naming_it(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """DEFINITION is the one reader of definition files; each way a file fails says so."""
    path = tmp_path / "def.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(click.BadParameter, match=r"def\.json|bad definition") as caught:
        DEFINITION.convert(str(path), None, None)
    assert message in caught.value.message


def test_a_definition_file_decodes(tmp_path: Path) -> None:
    """A good file is an ElectionDefinition, read once, at argument parsing."""
    path = tmp_path / "def.json"
    path.write_text(json.dumps(definition_dict()), encoding="utf-8")
    assert DEFINITION.convert(str(path), None, None).election_id == "kz-test"
