"""supervisord.conf for the services: written fresh by every `votewire up`.

The policy, per program:
- `autorestart=true`: any exit is restarted (a service never exits on purpose
  while `up` runs); supervisord reaps it first, so there are no zombies.
- `startsecs=START_S`: a process that exits sooner counts as a failed start
  and waits 1 s, 2 s, 3 s, ... before the next try; after `START_RETRIES`
  such exits in a row it is left FATAL (the listener says so loudly). A
  process that ran longer is restarted at once: one crash, one quick restart.
- SIGTERM to the process group, SIGKILL after the program's `stop_wait_s`.
- stdout and stderr into one rotated log per service.
The services inherit supervisord's environment (that of `votewire up`), so
no value is copied into this file. Every command runs under `lifeline`, so a
killed supervisord leaves no orphan.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from votewire.supervision.layout import Layout, Program

START_S = 5
START_RETRIES = 30
"""1 + 2 + ... + 30 s: a crash loop keeps being retried for about eight minutes."""
USER = "votewire"
LOG_MAX = "50MB"
LOG_BACKUPS = 5


class ConfError(ValueError):
    """A path supervisord's configuration cannot carry; the message names it."""


def _value(text: str | Path) -> str:
    """supervisord expands %(name)s in every value: a literal % is written %%."""
    text = str(text)
    if re.search(r"\s[;#]", text):
        # configparser (as supervisor sets it up) starts an inline comment there.
        raise ConfError(f"supervisord cannot be given {text!r}: a space before ';' or '#'")
    return text.replace("%", "%%")


def _program_log(path: Path) -> str:
    """A program's log file is expanded twice (once more per process): escape twice."""
    return _value(_value(path))


def _command(argv: tuple[str, ...] | list[str]) -> str:
    guarded = [sys.executable, "-m", "votewire.supervision.lifeline", "--", *argv]
    return _value(shlex.join(guarded))


def _environment(program: Program) -> list[str]:
    """supervisord's `environment=` line for the program's own settings, if any."""
    if not program.env:
        return []
    for key, value in program.env:
        if not key.isidentifier() or any(c in value for c in '"\n\\'):
            raise ConfError(f"{program.name}: setting {key}={value!r} cannot be written")
    pairs = ",".join(f'{key}="{_value(value)}"' for key, value in program.env)
    return [f"environment={pairs}"]


def render(layout: Layout, programs: list[Program], secret: str, as_root: bool = False) -> str:
    """The whole configuration file (see the module doc for the policy).

    `secret`: the control socket's password (user `USER`), beside the 0700
    socket permission; `as_root` says so to supervisord, which otherwise warns.
    """
    socket = layout.socket
    listener_argv = [
        sys.executable,
        "-m",
        "votewire.supervision.listener",
        "--restarts",
        str(layout.restarts_file),
        "--say",
        str(layout.said_file),
    ]
    lines = [
        "; written by `votewire up`; rewritten at every start",
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_value(layout.supervisord_log)}",
        f"logfile_maxbytes={LOG_MAX}",
        f"pidfile={_value(layout.pid_file)}",
        f"childlogdir={_value(layout.log_dir)}",
        "loglevel=info",
        "identifier=votewire",
        *(["user=root"] if as_root else []),
        "",
        "[unix_http_server]",
        f"file={_value(socket)}",
        "chmod=0700",
        f"username={USER}",
        f"password={_value(secret)}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(socket)}",
        f"username={USER}",
        f"password={_value(secret)}",
    ]
    for priority, program in enumerate(programs, start=1):
        log = _program_log(layout.log_file(program.name))
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={_command(program.argv)}",
            f"priority={priority}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_S}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_wait_s}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={log}",
            f"stdout_logfile_maxbytes={LOG_MAX}",
            f"stdout_logfile_backups={LOG_BACKUPS}",
            *_environment(program),
        ]
    lines += [
        "",
        "[eventlistener:watch]",
        f"command={_command(listener_argv)}",
        "events=PROCESS_STATE",
        "buffer_size=1024",
        "autorestart=true",
        "priority=0",
        # The listener's stdout is the event protocol; its stderr would only carry a traceback.
        f"stderr_logfile={_program_log(layout.log_file('watch'))}",
        "",
    ]
    return "\n".join(lines)
