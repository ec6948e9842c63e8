"""`votewire demo`: `votewire up` plus a simulated night.

Brings up the stack and the supervised services exactly as `votewire up`
does (restarts, status, Ctrl-C or SIGTERM stops everything; logs in
<state>/logs/services), loads the kz-2021 definition into ingest, sends the
simulated night through the ingest API paced at `--speed` (night seconds per
wall second; 0 = as fast as possible), prints where to watch and, at the
end, the final national figures as the live service serves them. Services
keep running until Ctrl-C, unless `--exit` is given. The sending progress is
one line redrawn on a terminal, plain lines in a log (`votewire.progress`).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable

import click
import httpx
from votewire import up
from votewire.command import Failed
from votewire.command import command as votewire_command
from votewire.config import Settings
from votewire.progress import Progress
from votewire.sim.http_sink import SendCounts
from votewire.supervision.foreground import SupervisionError, Supervisor, stop_on_signals


def progress(line: Progress) -> Callable[[SendCounts], None]:
    """`send_night`'s progress callback: the counts onto the progress line."""

    def show(counts: SendCounts) -> None:
        line.update(counts.sent, accepted=counts.accepted, rejected=counts.rejected)

    return show


def final_summary(settings: Settings, election_id: str, deadline_s: float = 180.0) -> None:
    """Wait (deadline-bounded) for the national view to count every precinct, then print it."""
    import time

    url = f"http://{settings.host}:{settings.live_port}/v1/views/summary:{election_id}"
    start, view = time.monotonic(), None
    while time.monotonic() - start < deadline_s:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                view = json.load(response)
        except OSError:
            view = None
        if view and view["precincts_reporting"] == view["precincts_total"]:
            break
        time.sleep(0.5)
    if view is None:
        print(f"[demo] national view not available at {url}")
        return
    print(
        f"[demo] national after {time.monotonic() - start:.0f} s: "
        f"precincts {view['precincts_reporting']}/{view['precincts_total']}  "
        f"registered {view['registered']:,}  ballots {view['ballots_cast']:,}  "
        f"turnout {view['turnout_pct']} %"
    )
    seats = view.get("seats_by_party") or []
    if seats:
        print("[demo] seats:", ", ".join(f"{s['party']} {s['seats']}" for s in seats))


@votewire_command(
    "demo",
    help="The whole pipeline here: stack, supervised services, a simulated night.",
    cannot_run=(httpx.HTTPError,),
)
@click.option(
    "--speed",
    type=float,
    default=600.0,
    show_default=True,
    help="Night seconds per wall second (600: ~2 min); 0 = flat out.",
)
@click.option("--faults", type=float, default=0.02, show_default=True, help="Fault rate.")
@click.option("--seed", type=int, default=2021, show_default=True)
@click.option("--exit", "exit_at_end", is_flag=True, help="Stop the services at the end.")
def command(speed: float, faults: float, seed: int, exit_at_end: bool) -> int:
    settings = Settings.from_env()
    # The demo feeds a whole night from one client: no per-credential rate limit.
    overrides = {"VOTEWIRE_HOST": settings.host, "VOTEWIRE_INGEST_RATE": "0"}
    with stop_on_signals():
        supervisor: Supervisor | None = None
        try:
            supervisor = up.start(overrides)
            feed(settings, speed, faults, seed)
            if not exit_at_end:
                print("[demo] services keep running; Ctrl-C to stop them")
                supervisor.wait()
        except SupervisionError as exc:
            raise Failed(str(exc)) from None
        except KeyboardInterrupt:
            pass
        finally:
            if supervisor is not None:
                supervisor.stop()
    return 0


def feed(settings: Settings, speed: float, faults: float, seed: int) -> None:
    """Load the definition, send the night, print the national figures."""
    from votewire.core.codec import encode_definition
    from votewire.core.scenario.faults import FaultRates
    from votewire.core.scenario.kz2021 import kz2021_definition
    from votewire.core.scenario.night import simulate_night
    from votewire.sim.http_sink import send_night

    definition = kz2021_definition(seed)
    night = simulate_night(definition, seed=seed, faults=FaultRates.uniform(faults))
    ingest = f"http://{settings.host}:{settings.ingest_port}"
    live = f"{settings.host}:{settings.live_port}"
    put = httpx.put(
        f"{ingest}/v1/elections/{definition.election_id}",
        json=encode_definition(definition),
        timeout=30,
    )
    put.raise_for_status()
    print(f"[demo] dashboard: http://{live}/?election={definition.election_id}")
    summary = f"summary:{definition.election_id}"
    print(f"[demo] websocket: ws://{live}/v1/live  (subscribe to {summary})")
    print(f"[demo] views: http://{live}/v1/views/summary:{definition.election_id}")
    print(f"[demo] ingest API: {ingest}/v1/reports   logs: {settings.state_dir / 'logs'}")
    print(f"[demo] sending {len(night)} reports at speed {speed:g}")
    line = Progress(enabled=True, total=len(night), label="[demo] sent")
    counts = asyncio.run(
        send_night(night, f"{ingest}/v1/reports", speed=speed, on_progress=progress(line))
    )
    line.finish(counts.sent, accepted=counts.accepted, rejected=counts.rejected)
    print(
        f"[demo] done: {counts.accepted} accepted, {counts.rejected} rejected "
        f"(malformed on purpose), {counts.failed_batches} failed batches"
    )
    final_summary(settings, definition.election_id)
