"""supervisord.conf as supervisor itself reads it: restart, backoff and stop policy per service."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions
from votewire.config import Settings
from votewire.supervision import conf
from votewire.supervision.layout import STOP_WAIT_S, Layout, programs


def parsed(state_dir: Path) -> tuple[Layout, dict[str, Any]]:
    """Render the file for `state_dir` and let supervisor's own option parser read it."""
    env = {"VOTEWIRE_STATE_DIR": str(state_dir)}
    settings = Settings.from_env(env)
    layout = Layout(settings.state_dir)
    layout.make_dirs()
    layout.conf.write_text(conf.render(layout, programs(settings, env), "s3cret%x"))
    options = ServerOptions()
    options.realize(args=["-c", str(layout.conf)])
    groups = {group.name: group for group in options.process_group_configs}
    return layout, {"options": options, "groups": groups}


def test_every_service_restarts_and_backs_off_during_start_up(tmp_path: Path) -> None:
    """Each service: always restarted, 5 s to count as started, 30 quick retries, own log."""
    layout, found = parsed(tmp_path / "state")
    groups = found["groups"]
    assert set(groups) == {"ingest", "aggregate", "rollups", "live", "watch"}
    for name in ("ingest", "aggregate", "rollups", "live"):
        (program,) = groups[name].process_configs
        assert program.autorestart is RestartUnconditionally
        assert program.startsecs == conf.START_S
        assert program.startretries == conf.START_RETRIES
        assert program.stopwaitsecs == STOP_WAIT_S[name]
        assert program.stopasgroup and program.killasgroup
        assert program.stdout_logfile == str(layout.log_file(name))
        assert program.redirect_stderr


def test_the_aggregate_runs_as_a_races_and_a_rollups_process(tmp_path: Path) -> None:
    """Both run `votewire aggregate`; each is told its role, the rollups its own port and
    static member id, so the two use two cores and restart into their partitions."""
    _, found = parsed(tmp_path / "state")
    (races,) = found["groups"]["aggregate"].process_configs
    (rollups,) = found["groups"]["rollups"].process_configs
    assert shlex.split(races.command)[-1] == shlex.split(rollups.command)[-1] == "aggregate"
    assert races.environment == {"VOTEWIRE_AGGREGATE_ROLE": "races"}
    assert rollups.environment == {
        "VOTEWIRE_AGGREGATE_ROLE": "rollups",
        "VOTEWIRE_AGGREGATE_PORT": "6067",
        "VOTEWIRE_AGGREGATE_INSTANCE_ID": "votewire-aggregate-up-rollups",
    }
    (ingest,) = found["groups"]["ingest"].process_configs
    assert not ingest.environment


def test_a_setting_supervisord_cannot_carry_is_refused(tmp_path: Path) -> None:
    env = {"VOTEWIRE_STATE_DIR": str(tmp_path), "VOTEWIRE_AGGREGATE_INSTANCE_ID": 'a"b'}
    settings = Settings.from_env(env)
    with pytest.raises(conf.ConfError, match="rollups"):
        conf.render(Layout(settings.state_dir), programs(settings, env), "s3cret")


def test_the_aggregate_has_the_longest_stop_wait() -> None:
    """The aggregate commits offsets and flushes Redis on SIGTERM: it gets the most time."""
    assert STOP_WAIT_S["aggregate"] == max(STOP_WAIT_S.values())


def test_commands_run_under_the_lifeline(tmp_path: Path) -> None:
    """Each command is `lifeline -- python -m votewire.cli ...`: no child outlives supervisord."""
    _, found = parsed(tmp_path / "state")
    (ingest,) = found["groups"]["ingest"].process_configs
    argv = shlex.split(ingest.command)
    assert argv[:4] == [sys.executable, "-m", "votewire.supervision.lifeline", "--"]
    assert argv[4:] == [sys.executable, "-m", "votewire.cli", "serve", "ingest"]
    (watch,) = found["groups"]["watch"].process_configs
    assert "votewire.supervision.listener" in watch.command


@pytest.mark.parametrize("odd", ["per%cent", "with space", "quo'te"])
def test_paths_survive_supervisors_expansion(tmp_path: Path, odd: str) -> None:
    """A state dir with %, a space or a quote reaches supervisord unchanged."""
    layout, found = parsed(tmp_path / odd)
    options = found["options"]
    assert options.pidfile == str(layout.pid_file)
    assert options.server_configs[0]["file"] == str(layout.socket)
    assert options.server_configs[0]["password"] == "s3cret%x"
    (live,) = found["groups"]["live"].process_configs
    assert live.stdout_logfile == str(layout.log_file("live"))


def test_a_long_state_dir_gets_a_short_socket(tmp_path: Path) -> None:
    """Unix socket paths hold at most 107 bytes: a deep state dir's socket goes to the tmp dir."""
    deep = tmp_path / ("d" * 120)
    socket = Layout(deep).socket
    assert len(str(socket)) < 108
    assert socket != Layout(tmp_path / ("e" * 120)).socket
    assert Layout(tmp_path / "short").socket.parent == tmp_path / "short" / "run"


def test_a_path_supervisord_would_cut_is_refused(tmp_path: Path) -> None:
    """' #' starts a comment in supervisord's parser: such a state dir is refused by name."""
    env = {"VOTEWIRE_STATE_DIR": str(tmp_path / "a #b")}
    settings = Settings.from_env(env)
    layout = Layout(settings.state_dir)
    with pytest.raises(conf.ConfError, match="a #b"):
        conf.render(layout, programs(settings, env), "secret")
