"""`votewire demo`: the whole pipeline on this machine, fed a simulated night.

Starts the local stack (unless external servers are configured), the three
services as child processes (logs in <state>/logs/services), loads the
kz-2021 definition into ingest, sends the simulated night through the ingest
API paced at `--speed` (night seconds per wall second; 0 = as fast as
possible), prints where to watch and, at the end, the final national figures
as the live service serves them. Services keep running until Ctrl-C, unless
`--exit` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import runpy
import sys
import urllib.request
from typing import Any

from votewire.config import Settings, local_stack_script
from votewire.launcher import ServiceProcess, start_services
from votewire.sim.http_sink import SendCounts


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
    import httpx
    from votewire.core.codec import encode_definition
    from votewire.core.scenario.faults import FaultRates
    from votewire.core.scenario.kz2021 import kz2021_definition
    from votewire.core.scenario.night import simulate_night
    from votewire.sim.http_sink import send_night

    settings = Settings.from_env()
    stack = runpy.run_path(str(local_stack_script()), run_name="votewire_stack")
    if stack["main"](["up"]) != 0:
        return 1
    # The demo feeds a whole night from one client: no per-credential rate limit.
    env = {"VOTEWIRE_HOST": settings.host, "VOTEWIRE_INGEST_RATE": "0"}
    procs: dict[str, ServiceProcess] = start_services(env, settings.state_dir / "logs" / "services")
    try:
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
        counts = asyncio.run(
            send_night(
                night, f"{ingest}/v1/reports", speed=args.speed, on_progress=progress(len(night))
            )
        )
        print(file=sys.stderr)
        print(
            f"[demo] done: {counts.accepted} accepted, {counts.rejected} rejected "
            f"(malformed on purpose), {counts.failed_batches} failed batches"
        )
        final_summary(settings, definition.election_id)
        if not args.exit:
            print("[demo] services keep running; Ctrl-C to stop them")
            for proc in procs.values():
                if proc.process:
                    proc.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            proc.stop()
    return 0
