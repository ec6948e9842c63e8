"""The event listener: restarts counted and said loudly, asked-for stops quiet; its protocol."""

from __future__ import annotations

import io
import json
from pathlib import Path

from votewire.supervision.listener import RestartBook, load, serve


def run(book: RestartBook, *events: tuple[str, str]) -> list[str | None]:
    said = []
    for event, payload in events:
        fields = dict(part.split(":", 1) for part in payload.split())
        said.append(book.observe(f"PROCESS_STATE_{event}", fields))
    return said


def book() -> RestartBook:
    return RestartBook(clock=lambda: 0.0)


def test_a_crash_is_said_counted_and_its_recovery_said() -> None:
    """kill -9 of a running service: EXITED loudly, a counted restart, then 'running again'."""
    b = book()
    agg = "processname:aggregate groupname:aggregate"
    said = run(
        b,
        ("STARTING", f"{agg} from_state:STOPPED tries:0"),
        ("RUNNING", f"{agg} from_state:STARTING pid:41"),
        ("EXITED", f"{agg} from_state:RUNNING expected:0 pid:41"),
        ("STARTING", f"{agg} from_state:EXITED tries:0"),
        ("RUNNING", f"{agg} from_state:STARTING pid:42"),
    )
    assert said[0] is None and said[1] is None  # the first start is not news
    assert said[2] is not None and "!!! aggregate (pid 41) EXITED" in said[2]
    assert said[3] is not None and "restart 1" in said[3]
    assert said[4] is not None and "running again (pid 42" in said[4]
    assert b.records["aggregate"].restarts == 1
    assert b.records["aggregate"].last_exit_pid == 41
    assert b.records["aggregate"].state == "RUNNING"


def test_a_crash_loop_says_each_retry_and_the_give_up() -> None:
    """Dying during start-up: BACKOFF names the try and the wait; FATAL says it gave up."""
    b = book()
    said = run(
        b,
        ("STARTING", "processname:ingest groupname:ingest from_state:STOPPED tries:0"),
        ("BACKOFF", "processname:ingest groupname:ingest from_state:STARTING tries:1"),
        ("STARTING", "processname:ingest groupname:ingest from_state:BACKOFF tries:1"),
        ("BACKOFF", "processname:ingest groupname:ingest from_state:STARTING tries:2"),
        ("FATAL", "processname:ingest groupname:ingest from_state:BACKOFF"),
    )
    assert said[1] is not None and "try 1" in said[1] and "next try in 1 s" in said[1]
    assert said[3] is not None and "next try in 2 s" in said[3]
    assert said[4] is not None and "GAVE UP on ingest" in said[4]
    assert b.records["ingest"].restarts == 1
    assert b.records["ingest"].state == "FATAL"


def test_stops_that_were_asked_for_are_quiet() -> None:
    """Ctrl-C of `votewire up`: STOPPING and STOPPED are no restart and say nothing."""
    b = book()
    said = run(
        b,
        ("RUNNING", "processname:live groupname:live from_state:STARTING pid:7"),
        ("STOPPING", "processname:live groupname:live from_state:RUNNING pid:7"),
        ("STOPPED", "processname:live groupname:live from_state:STOPPING pid:7"),
    )
    assert said == [None, None, None]
    assert b.records["live"].restarts == 0


def test_the_listener_ignores_itself_and_other_events() -> None:
    """The listener's own state and non-process events change nothing."""
    b = book()
    assert b.observe("PROCESS_STATE_EXITED", {"processname": "watch", "pid": "3"}) is None
    assert b.observe("TICK_5", {"when": "1"}) is None
    assert b.records == {}


def test_serve_speaks_supervisors_protocol_and_writes_the_records(tmp_path: Path) -> None:
    """READY, header, payload, RESULT 2 OK per event; the records file follows each event."""
    payload = "processname:live groupname:live from_state:RUNNING expected:0 pid:9"
    header = (
        "ver:3.0 server:supervisor serial:1 pool:watch poolserial:1 "
        f"eventname:PROCESS_STATE_EXITED len:{len(payload)}\n"
    )
    stdin, stdout, say = io.StringIO(header + payload), io.StringIO(), io.StringIO()
    records = tmp_path / "restarts.json"
    serve(book(), records, stdin, stdout, say)
    assert stdout.getvalue() == "READY\nRESULT 2\nOKREADY\n"
    assert "!!! live (pid 9) EXITED" in say.getvalue()
    assert json.loads(records.read_text())["live"]["last_exit_pid"] == 9
    reloaded = load(records)["live"]
    assert (reloaded.restarts, reloaded.last_exit_pid, reloaded.state) == (0, 9, "EXITED")


def test_unreadable_records_start_from_nothing(tmp_path: Path) -> None:
    """A missing or corrupt restarts file is an empty book, not a crash of the listener."""
    assert load(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert load(tmp_path / "bad.json") == {}
