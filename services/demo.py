"""`votewire demo`: `votewire up` plus a simulated night.

Brings up the stack and the supervised services exactly as `votewire up`
does (restarts, status, Ctrl-C or SIGTERM stops everything; logs in
<state>/logs/services), loads the kz-2021 definition into ingest, sends the
simulated night through the ingest API paced at `--speed` (night seconds per
wall second; 0 = as fast as possible), prints where to watch and, at the
end, the final national figures as the live service serves them. Services
keep running until Ctrl-C, unless `--exit` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.request
from typing import Any

from votewire import up
from votewire.config import Settings
from votewire.sim.http_sink import SendCounts
from votewire.supervision.foreground import SupervisionError, Supervisor, stop_on_signals


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("demo", help="stack + services + a simulated kz-2021 night")
    parser.add_argument(
        "--speed",
        type=float,
        default=600.0,
        help="night seconds per wall second (default 600: ~2 min); 0 = flat out",
    )
    parser.add_argument("--faults", type=float, default=0.02, help="fault rate (default 0.02)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--exit", action="store_true", help="stop the services at the end")
    parser.set_defaults(func=run)


def progress(total: int) -> Any:
    def show(counts: SendCounts) -> None:
        print(
            f"\r[demo] sent {counts.sent}/{total}  accepted {counts.accepted}  "
            f"rejected {counts.rejected}",
            end="",
            file=sys.stderr,
            flush=True,
        )

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


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # The demo feeds a whole night from one client: no per-credential rate limit.
    overrides = {"VOTEWIRE_HOST": settings.host, "VOTEWIRE_INGEST_RATE": "0"}
    with stop_on_signals():
        supervisor: Supervisor | None = None
        try:
            supervisor = up.start(overrides)
            feed(args, settings)
            if not args.exit:
                print("[demo] services keep running; Ctrl-C to stop them")
                supervisor.wait()
        except SupervisionError as exc:
            print(f"[demo] error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        finally:
            if supervisor is not None:
                supervisor.stop()
    return 0


def feed(args: argparse.Namespace, settings: Settings) -> None:
    """Load the definition, send the night, print the national figures."""
    import httpx
    from votewire.core.codec import encode_definition
    from votewire.core.scenario.faults import FaultRates
    from votewire.core.scenario.kz2021 import kz2021_definition
    from votewire.core.scenario.night import simulate_night
    from votewire.sim.http_sink import send_night

    definition = kz2021_definition(args.seed)
    night = simulate_night(definition, seed=args.seed, faults=FaultRates.uniform(args.faults))
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
    print(f"[demo] sending {len(night)} reports at speed {args.speed:g}")
    show = progress(len(night))
    counts = asyncio.run(
        send_night(night, f"{ingest}/v1/reports", speed=args.speed, on_progress=show)
    )
    print(file=sys.stderr)
    print(
        f"[demo] done: {counts.accepted} accepted, {counts.rejected} rejected "
        f"(malformed on purpose), {counts.failed_batches} failed batches"
    )
    final_summary(settings, definition.election_id)
