"""The latency bench's subscriber: times every race-view change Redis publishes.

    python bench/race_view_probe.py REDIS_URL PATTERN STOP_CHANNEL OUT

Run as its own process by `bench_aggregate.py`'s latency runs, so that the
bench's producer (thousands of sends a second on one event loop) can never
make it fall behind: a pub/sub reader that falls behind is disconnected by
Redis once its output buffer passes `client-output-buffer-limit` (which is
shared server configuration: not ours to raise). This process does nothing
but read: for each message on PATTERN it keeps (time.monotonic(), channel,
version) from the change record's first line (the document is not parsed).
CLOCK_MONOTONIC is one clock for every process of the machine, so these
times compare with the acknowledgement times the bench takes.

Prints `ready` once Redis confirmed the subscription. A message on
STOP_CHANNEL (also subscribed) ends the run: Redis delivers one connection's
messages in order, so every change published before the stop message has been
read by then. The changes go to OUT, one `<time> <channel> <version>` line
each, and the process exits 0; a lost connection exits 1 with the reason.
"""

from __future__ import annotations

import sys
import time

import redis


def main() -> int:
    url, pattern, stop, out = sys.argv[1:5]
    client = redis.Redis.from_url(url, socket_keepalive=True)
    pubsub = client.pubsub()
    pubsub.psubscribe(pattern)
    pubsub.subscribe(stop)
    confirmed = 0
    while confirmed < 2:
        message = pubsub.get_message(timeout=10.0)
        if message is None:
            print("no subscription confirmation from Redis", file=sys.stderr)
            return 1
        confirmed += message["type"] in ("psubscribe", "subscribe")
    print("ready", flush=True)
    seen: list[tuple[float, bytes, bytes]] = []
    clock = time.monotonic
    try:
        for message in pubsub.listen():
            kind = message["type"]
            if kind == "pmessage":
                head = message["data"].split(b"\n", 1)[0].split(b" ")
                seen.append((clock(), head[0], head[3]))
            elif kind == "message":
                break
    except redis.RedisError as exc:
        print(f"subscription lost after {len(seen)} changes: {exc!r}", file=sys.stderr)
        return 1
    with open(out, "w") as fh:
        fh.writelines(f"{t:.6f} {c.decode()} {v.decode()}\n" for t, c, v in seen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
