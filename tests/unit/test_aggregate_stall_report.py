"""The aggregate logs a stall once per episode, with where each asyncio task waits."""

from __future__ import annotations

import asyncio
import logging

import pytest
from votewire.aggregate.stall_report import StallReport


async def test_a_stall_is_logged_once_with_the_task_stacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    waiting = asyncio.Event()

    async def stuck_agent() -> None:
        waiting.set()  # runs on into the await below in the same step
        await asyncio.Event().wait()

    agent = asyncio.create_task(stuck_agent())
    await waiting.wait()
    report = StallReport()
    with caplog.at_level(logging.WARNING, logger="votewire.aggregate.stall_report"):
        report.observe(True, "ok")
        report.observe(False, "stalled")
        report.observe(False, "stalled")
        report.observe(True, "ok")
    agent.cancel()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("worker unhealthy (stalled)")
    assert "stuck_agent" in messages[0]
    assert messages[1] == "worker healthy again (was stalled)"
