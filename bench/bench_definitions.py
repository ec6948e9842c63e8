"""National-size definitions: decode time, event-loop stalls, PUT through ingest, memory.

    python bench/bench_definitions.py [--precincts 200000] [--offline]

1. Offline, in this process: the national definition's body (indented, as
   `votewire scenario national` writes it) parsed, checked and re-encoded as
   `PUT /v1/elections/{id}` does, and a complete revision decoded as a
   `DefinitionCatalog` does, each in a worker thread while the event loop
   ticks every 5 ms: seconds, and the longest the loop was kept waiting
   (beside plain `json.loads`, one C call holding the GIL).
2. Against the local stack (skipped with `--offline`): `votewire serve
   ingest` as a process on an isolated topic prefix; the body PUT while
   `/healthz` is asked every 10 ms (answer time, max and p99), GET back; the
   ingest's RSS; then a fresh process starts a `DefinitionCatalog` (what an
   aggregate worker does) and reports seconds to ready and its RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from votewire.core.codec import encode_definition, loads
from votewire.core.definition_text import canonical_text
from votewire.core.scenario.national import national_definition
from votewire.infra.definition_catalog import decode_text
from votewire.ingest.definition_loads import Parsed, parse_definition_body

from tests.support.stack import free_port, isolated_env

CATALOG_PROBE = """
import asyncio, sys, time
from votewire.infra.definition_catalog import DefinitionCatalog
def rss():
    return {l.split(':')[0]: int(l.split()[1]) // 1024 for l in open('/proc/self/status')
            if l.startswith(('VmRSS', 'VmHWM'))}
async def main():
    before = rss()['VmRSS']
    catalog = DefinitionCatalog(sys.argv[1], sys.argv[2])
    started = time.perf_counter()
    await catalog.start()
    print(time.perf_counter() - started, before, rss()['VmRSS'], rss()['VmHWM'])
    await catalog.stop()
asyncio.run(main())
"""


async def in_thread(fn: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """(result, seconds, longest loop stall in seconds) of `fn(*args)` in a worker thread."""
    gaps: list[float] = []
    running = True

    async def tick() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last - 0.005)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    result = await asyncio.to_thread(fn, *args)
    seconds = time.perf_counter() - started
    running = False
    await ticker
    return result, seconds, max(gaps)


async def offline(body: bytes, election_id: str) -> None:
    parsed, seconds, stall = await in_thread(parse_definition_body, body, election_id)
    assert isinstance(parsed, Parsed), parsed
    print(f"PUT path (parse, check, encode): {seconds:.2f} s, loop stall max {stall * 1e3:.0f} ms")
    _, seconds, stall = await in_thread(loads, body)
    print(f"  plain json.loads of the body:  {seconds:.2f} s, loop stall max {stall * 1e3:.0f} ms")
    _, seconds, stall = await in_thread(decode_text, parsed.document)
    print(f"catalog decode of a revision:    {seconds:.2f} s, loop stall max {stall * 1e3:.0f} ms")


def rss_mb(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            fields[line.split(":")[0]] = int(line.split()[1]) // 1024
    return fields["VmRSS"], fields["VmHWM"]


async def put_while_pinging(url: str, path: str, body: bytes) -> None:
    latencies: list[float] = []
    done = asyncio.Event()
    async with httpx.AsyncClient(timeout=300) as client, httpx.AsyncClient(timeout=60) as pinger:

        async def ping() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await pinger.get(f"{url}/healthz")
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ping())
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        put = await client.put(
            url + path, content=body, headers={"Content-Type": "application/json"}
        )
        put_s = time.perf_counter() - started
        done.set()
        await task
        started = time.perf_counter()
        got = await client.get(url + path)
        get_s = time.perf_counter() - started
    assert put.status_code == 200 and got.status_code == 200, put.text
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(
        f"PUT {len(body) / 1e6:.1f} MB: {put_s:.2f} s; GET {len(got.content) / 1e6:.1f} MB: "
        f"{get_s:.2f} s; /healthz during the PUT: max {latencies[-1] * 1e3:.0f} ms, "
        f"p99 {p99 * 1e3:.0f} ms ({len(latencies)} asked)"
    )


def online(body: bytes, election_id: str) -> None:
    env = {**os.environ, **isolated_env("bench-definitions"), "VOTEWIRE_LOG_LEVEL": "warning"}
    port = free_port()
    env["VOTEWIRE_INGEST_PORT"] = str(port)
    url = f"http://127.0.0.1:{port}"
    ingest = subprocess.Popen([sys.executable, "-m", "votewire.cli", "serve", "ingest"], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("ingest did not get ready in 60 s")
            time.sleep(0.2)  # deadline-poll for the child to serve
        idle = rss_mb(ingest.pid)
        asyncio.run(put_while_pinging(url, f"/v1/elections/{election_id}", body))
        rss, hwm = rss_mb(ingest.pid)
        print(f"ingest RSS: {idle[0]} MB before, {rss} MB after (high-water {hwm} MB)")
    finally:
        ingest.terminate()
        ingest.wait(30)
    topic = f"{env['VOTEWIRE_TOPIC_PREFIX']}.definitions"
    bootstrap = env.get("VOTEWIRE_KAFKA_BOOTSTRAP") or "127.0.0.1:19092"
    out = subprocess.run(
        [sys.executable, "-c", CATALOG_PROBE, bootstrap, topic],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    seconds, before, after, hwm = float(out[0]), *map(int, out[1:])
    print(
        f"a new DefinitionCatalog (aggregate): ready in {seconds:.2f} s, RSS {before} -> "
        f"{after} MB (high-water {hwm} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precincts", type=int, default=200_000)
    parser.add_argument("--offline", action="store_true", help="skip the stack part")
    args = parser.parse_args()
    definition = national_definition(args.precincts)
    body = json.dumps(encode_definition(definition), ensure_ascii=False, indent=2).encode()
    compact = canonical_text(definition)
    precincts = sum(len(r.precincts) for r in definition.races)
    print(
        f"national-{args.precincts}: {precincts} precinct entries, body {len(body) / 1e6:.1f} MB "
        f"(canonical {len(compact) / 1e6:.1f} MB)"
    )
    asyncio.run(offline(body, definition.election_id))
    if not args.offline:
        online(body, definition.election_id)


if __name__ == "__main__":
    main()
