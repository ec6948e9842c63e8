"""The faust ceiling: a no-op faust agent reading a reports topic, in reports/s.

    python bench/faust_floor.py TOPIC COUNT   (env: VOTEWIRE_KAFKA_BOOTSTRAP)

Run as its own process by `bench_aggregate.py`, beside the plain aiokafka
consumer: the same settings as the aggregate's stage 1 (at-least-once,
`noack_take` batches of 500 within 10 ms, each event acknowledged, commits
on the timer), but the agent does nothing with the records. What it reads
per second is the most any faust agent can fold on this machine; the gap to
the plain consumer is faust's own cost per record. Prints one line,
`faust-no-op <reports/s>`, once COUNT records were read, and exits.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import faust

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from votewire.aggregate.app import COMMIT_EVERY_NEVER, broker_url
from votewire.config import Settings


def main() -> None:
    topic_name, count = sys.argv[1], int(sys.argv[2])
    settings = Settings.from_env()
    app = faust.App(
        f"faust-floor-{uuid.uuid4().hex[:8]}",
        broker=broker_url(settings.kafka_bootstrap),
        store="memory://",
        web_enabled=False,
        processing_guarantee="at_least_once",
        broker_commit_every=COMMIT_EVERY_NEVER,
        broker_commit_interval=0.5,
        consumer_auto_offset_reset="earliest",
        topic_allow_declare=False,
        datadir=f"/tmp/{topic_name}-faust-floor",
    )
    topic = app.topic(
        topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    seen = {"n": 0, "t0": 0.0}

    @app.agent(topic, concurrency=1)
    async def read(stream: Any) -> None:
        async for batch in stream.noack_take(500, 0.01):
            if not seen["n"]:
                seen["t0"] = time.perf_counter()
            for event in batch:
                await stream.ack(event)
            seen["n"] += len(batch)
            if seen["n"] >= count:
                rate = seen["n"] / (time.perf_counter() - seen["t0"])
                os.write(1, f"faust-no-op {rate:.0f}\n".encode())  # faust redirects sys.stdout
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    app.main()


if __name__ == "__main__":
    main()
