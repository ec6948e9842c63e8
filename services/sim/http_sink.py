"""Sending a simulated night to the ingest API, paced by its timeline.

`send_night` delivers `Emitted` items in order, as JSON arrays of up to
`batch` reports per POST, waiting until each batch's delivery time scaled by
`speed` (speed 0: as fast as possible). A batch answered 503 (Kafka not
storing) is retried with the server's Retry-After until `deadline_s`; any
other failure is counted, not retried. Returns the counts, so a caller can
check that everything sent was accepted or rejected as expected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from votewire.core.scenario.timeline import Emitted


@dataclass
class SendCounts:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    failed_batches: int = 0


async def send_night(
    night: Sequence[Emitted],
    url: str,
    *,
    speed: float = 0.0,
    batch: int = 200,
    token: str | None = None,
    on_progress: Callable[[SendCounts], None] | None = None,
    deadline_s: float = 120.0,
) -> SendCounts:
    counts = SendCounts()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30.0, headers=headers) as client:
        i = 0
        while i < len(night):
            first = night[i].offset_seconds
            chunk = [night[i]]
            i += 1
            # Batch what is due together (or everything, when not pacing).
            while (
                i < len(night)
                and len(chunk) < batch
                and (speed <= 0 or (night[i].offset_seconds - first) / speed < 0.05)
            ):
                chunk.append(night[i])
                i += 1
            if speed > 0:
                due = started + first / speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            await _post(client, url, chunk, counts, deadline_s)
            if on_progress:
                on_progress(counts)
    return counts


async def _post(
    client: httpx.AsyncClient,
    url: str,
    chunk: list[Emitted],
    counts: SendCounts,
    deadline_s: float,
) -> None:
    body = [item.wire() for item in chunk]
    give_up = time.monotonic() + deadline_s
    while True:
        try:
            response = await client.post(url, json=body)
        except httpx.HTTPError:
            response = None
        if response is not None and response.status_code in (200, 207, 422):
            result = response.json()
            counts.sent += len(chunk)
            counts.accepted += int(result.get("accepted", 0))
            counts.rejected += int(result.get("rejected", 0))
            return
        retryable = response is None or response.status_code in (429, 503)
        if not retryable or time.monotonic() > give_up:
            counts.failed_batches += 1
            counts.sent += len(chunk)
            return
        retry_after = float(response.headers.get("Retry-After", "1")) if response else 1.0
        await asyncio.sleep(min(retry_after, 5.0))
