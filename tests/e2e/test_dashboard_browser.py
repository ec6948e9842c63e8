"""The dashboard in a real headless Chromium: live numbers, the chart, reconnect and resume,
and "Stale" in place of "Live" when the aggregate's heartbeat stops.

Needs Debian's chromium at /usr/bin/chromium and the `playwright` Python
package (no downloaded browsers): `apt-get install -y chromium` and
`pip install playwright`. Without them this test fails, saying so.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from votewire.config import REPO_ROOT
from votewire.core.models import TurnoutReport
from votewire.core.scenario import kz2021
from votewire.core.scenario.night import simulate_night
from votewire.infra.redis_views import RedisViews
from votewire.launcher import ServiceProcess, start_services

from tests.support.heartbeat import Pulse, pulse
from tests.support.live import ElectionViews, drop_prefix
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("VOTEWIRE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "artifacts"
DEADLINE_MS = 15_000
STALE_WITHIN_MS = 5_000
"""Issue 16: readers see "Stale" within 5 s of the aggregate's heartbeat stopping."""


def _require_browser() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("the playwright Python package is missing: pip install playwright")
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    return async_playwright


def _phases() -> tuple[list[Any], list[Any], list[Any]]:
    """The kz-2021 night in three parts: turnout to 12:00, to 16:00, the rest + early results."""
    night = [e.payload for e in simulate_night(kz2021.kz2021_definition())]
    turnout = [r for r in night if isinstance(r, TurnoutReport)]
    results = [r for r in night if not isinstance(r, TurnoutReport)]
    early = [r for r in turnout if r.mark <= "12:00"]
    middle = [r for r in turnout if "12:00" < r.mark <= "16:00"]
    late = [r for r in turnout if r.mark > "16:00"] + results[: len(results) // 3]
    return early, middle, late


async def _feed(election: ElectionViews, reports: list[Any]) -> None:
    for start in range(0, len(reports), 400):
        await election.apply(*reports[start : start + 400])


LiveStack = tuple[ElectionViews, ServiceProcess, str, Pulse]


@pytest.fixture
async def live_stack(tmp_path: Path) -> AsyncIterator[LiveStack]:
    """The live service, views written as the aggregate would, and its heartbeat (a Pulse)."""
    env = {**isolated_env("dash"), "VOTEWIRE_LIVE_PING_INTERVAL_MS": "2000"}
    client = aioredis.Redis.from_url(settings_for(env).redis_url)
    election = ElectionViews(
        RedisViews(client, env["VOTEWIRE_REDIS_PREFIX"]), kz2021.kz2021_definition()
    )
    procs = start_services(env, tmp_path / "logs", names=("live",))
    try:
        async with pulse(client, env["VOTEWIRE_REDIS_PREFIX"]) as beat:
            yield election, procs["live"], f"http://127.0.0.1:{env['VOTEWIRE_LIVE_PORT']}", beat
    finally:
        procs["live"].stop()
        await drop_prefix(client, env["VOTEWIRE_REDIS_PREFIX"])
        await client.aclose()


async def test_dashboard_says_stale_within_5_s_of_the_heartbeat_stopping(
    live_stack: LiveStack,
) -> None:
    """Heartbeat stops: "Stale, last update hh:mm:ss" replaces "Live" within 5 s; it resumes:
    "Live" again."""
    async_playwright = _require_browser()
    election, _, base, beat = live_stack
    early, _, _ = _phases()
    await _feed(election, early)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="en-US", bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base)
        label = page.locator("#status-label")
        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'live'", timeout=DEADLINE_MS
        )
        assert await label.text_content() == "Live"
        beat.pause()
        stopped = time.monotonic()
        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'stale'",
            timeout=STALE_WITHIN_MS,
        )
        shown = await label.text_content() or ""
        print(f"stale shown {time.monotonic() - stopped:.2f} s after the heartbeat stopped")
        assert shown.startswith("Stale, last update "), shown
        hh_mm_ss = shown.removeprefix("Stale, last update ")
        assert len(hh_mm_ss) == 8 and hh_mm_ss.count(":") == 2, shown
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard-stale.png"))
        beat.resume()
        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'live'", timeout=DEADLINE_MS
        )
        assert await label.text_content() == "Live"
        await browser.close()
    assert not errors, errors


async def test_dashboard_shows_live_numbers_and_resumes_after_the_server_dies(
    live_stack: LiveStack,
) -> None:
    """Numbers and chart change on screen; after a server crash the page reconnects and resumes."""
    async_playwright = _require_browser()
    election, live, base, _ = live_stack
    early, middle, late = _phases()
    await _feed(election, early)
    e = election.definition.election_id
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # The page's CSP forbids eval; Playwright's wait_for_function needs it.
        page = await browser.new_page(
            viewport={"width": 1280, "height": 900}, locale="en-US", bypass_csp=True
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/?region=akmola")
        status = page.locator("#status")
        mark_label = page.locator("#national-mark-label")
        national_line = page.locator('#turnout-chart path[data-series="national"]')

        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'live'", timeout=DEADLINE_MS
        )
        assert "kz-2021-rural-akims" in page.url  # the newest election was picked by default
        await page.wait_for_function(
            "document.querySelector('#national-mark-label').textContent.startsWith('at 12:00')",
            timeout=DEADLINE_MS,
        )
        line_at_noon = await national_line.get_attribute("d")
        assert line_at_noon and line_at_noon.count("L") == 1  # two marks: one segment

        await _feed(election, middle)
        await page.wait_for_function(
            "document.querySelector('#national-mark-label').textContent.startsWith('at 16:00')",
            timeout=DEADLINE_MS,
        )
        assert (await national_line.get_attribute("d") or "").count("L") == 3
        assert (await mark_label.text_content() or "").startswith("at 16:00")

        await page.locator("button.race-pick").first.click()
        await page.locator("#race [data-candidate]").first.wait_for(timeout=DEADLINE_MS)
        # The region's races, from its race-list pages (races:E:akmola:P).
        listed = await page.locator("button.race-pick").count()
        assert listed == len(election.definition.races_in("akmola"))

        live.kill()  # the websocket server dies without a goodbye
        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'reconnecting'",
            timeout=DEADLINE_MS,
        )
        assert "Reconnecting" in (await status.text_content() or "")
        await _feed(election, late)  # published while the page is cut off
        live.start()
        live.wait_healthy()

        summary = await election.views.get_view(f"summary:{e}")
        assert summary is not None
        expected = await election.views.client.hget(election.views.view_key(f"summary:{e}"), "seq")
        await page.wait_for_function(
            f"window.votewire.client.channels.get('summary:{e}').seq === {int(expected)}",
            timeout=DEADLINE_MS,
        )
        await page.wait_for_function(
            "document.querySelector('#status').dataset.state === 'live'", timeout=DEADLINE_MS
        )
        view = election.nation.view()
        shown = await page.locator("#national-precincts").text_content()
        assert shown == f"{view['precincts_reporting']:,} / {view['precincts_total']:,}"
        assert await page.locator("#national-turnout").text_content() == f"{view['turnout_pct']}%"
        assert (await mark_label.text_content() or "").startswith("at 20:00")
        assert (await national_line.get_attribute("d") or "").count("L") == 5

        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True
        )
        await phone.goto(page.url)
        await phone.wait_for_function(
            "document.querySelector('#status').dataset.state === 'live'", timeout=DEADLINE_MS
        )
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px phone"
        await phone.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
        await browser.close()
    assert not errors, errors
