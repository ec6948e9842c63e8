"""The aggregate worker's consumer gets the configured fetch wait, not faust's fixed 1500 ms."""

from __future__ import annotations

from pathlib import Path

from services.aggregate.app import create_app
from services.config import Settings


async def test_the_worker_consumer_is_built_with_the_configured_fetch_wait(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {"VOTEWIRE_STATE_DIR": str(tmp_path), "VOTEWIRE_AGGREGATE_FETCH_WAIT_MS": "25"}
    )
    app = create_app(settings)
    thread = app.consumer._thread  # the faust consumer thread that owns aiokafka's consumer
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 25
    finally:
        await consumer.stop()  # never started: only marks it closed
    assert settings.aggregate_fetch_wait_ms == 25
