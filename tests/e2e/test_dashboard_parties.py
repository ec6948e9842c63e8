"""The dashboard in real Chromium names and paints parties from the registry, shows
"Against all" only where a race has it, says what "Votes by party" adds up, never shows
"Runoff" beside a share above 50 % of the stated base, and fits a 390 px phone.

Needs Debian's chromium and the playwright package, as test_dashboard_browser.py does.
Screenshots go to $VOTEWIRE_SCREENSHOTS (default: artifacts/ of the repo).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from votewire.core.codec import decode_definition
from votewire.core.models import ElectionDefinition
from votewire.core.scenario import kz2021
from votewire.core.scenario.night import simulate_night
from votewire.infra.redis_views import RedisViews

from tests.e2e.test_dashboard_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DEADLINE_MS
from tests.e2e.test_dashboard_browser import _require_browser as require_browser
from tests.support.definitions import result_report
from tests.support.heartbeat import pulse
from tests.support.live import ElectionViews, drop_prefix, serve_live
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("VOTEWIRE_SCREENSHOTS", str(ARTIFACTS)))
LIVE = "document.querySelector('#status').dataset.state === 'live'"


def runoff_definition() -> ElectionDefinition:
    """A v1 definition (free-text parties, no registry): one majority race, no against-all
    line, shares of valid votes."""
    return decode_definition(
        {
            "election_id": "runoff-2026",
            "name": "Runoff rehearsal",
            "date": "2026-03-01",
            "timezone": "Asia/Almaty",
            "turnout_marks": ["10:00"],
            "share_base": "valid",
            "test": True,
            "regions": [{"region_id": "N", "name": "North", "timezone": None}],
            "races": [
                {
                    "race_id": "M1",
                    "name": "Mayor of Aqsu",
                    "region_id": "N",
                    "office": "mayor",
                    "seats": 1,
                    "against_all": False,
                    "winner_rule": "majority",
                    "against_all_rule": "ignore",
                    "candidates": [
                        {"candidate_id": "A", "name": "Aigerim A.", "party": "Green Steppe"},
                        {"candidate_id": "B", "name": "Bolat B.", "party": "Blue River"},
                        {"candidate_id": "C", "name": "Dana C.", "party": "Red Hills"},
                    ],
                    "precincts": [{"precinct_id": "P1", "name": "School 1", "registered": 1000}],
                }
            ],
        }
    )


@pytest.fixture(autouse=True)
def screenshots_folder() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
async def dashboard() -> AsyncIterator[tuple[str, ElectionViews, ElectionViews]]:
    """A live server over Redis holding the complete kz-2021 night and the runoff race, and
    a healthy aggregate heartbeat."""
    env = isolated_env("dash-parties")
    settings = settings_for(env)
    client = aioredis.Redis.from_url(settings.redis_url)
    views = RedisViews(client, settings.redis_prefix)
    kz = ElectionViews(views, kz2021.kz2021_definition())
    night = [e.payload for e in simulate_night(kz.definition)]
    for start in range(0, len(night), 500):
        await kz.apply(*night[start : start + 500])
    runoff = ElectionViews(views, runoff_definition())
    report = result_report("m1-p1", "M1", "P1", 1000, {"A": 89, "B": 60, "C": 27}, 0, 14)
    await runoff.apply({**report, "election_id": "runoff-2026"})
    try:  # the aggregate's heartbeat: without it the pill reads "Stale", not "Live"
        async with pulse(client, settings.redis_prefix), serve_live(settings) as server:
            yield server.http, kz, runoff
    finally:
        await drop_prefix(client, settings.redis_prefix)
        await client.aclose()


async def _texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_text_contents()]


async def _fills(page: Any, selector: str) -> list[str]:
    return list(
        await page.eval_on_selector_all(
            selector, "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
    )


def _rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


async def test_parties_are_named_and_coloured_and_the_page_fits_a_phone(
    dashboard: tuple[str, ElectionViews, ElectionViews],
) -> None:
    """kz-2021 complete: every party line shows the registry's short name and colour (no
    raw ids, no two parties one colour), "Against all" is listed, the votes note says what
    is summed and on which base, the region table paints the leader, the race panel names
    candidates' parties; at 390 px the page is no wider than the screen."""
    async_playwright = require_browser()
    base, kz, _ = dashboard
    registry = {p.party_id: p for p in kz.definition.parties}
    race = kz.definition.races_in("akmola")[0]
    url = f"{base}/?election={kz.definition.election_id}&region=akmola&race={race.race_id}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        errors: list[str] = []
        for width, height, name in ((1280, 900, "desktop"), (390, 844, "390px")):
            page = await browser.new_page(
                viewport={"width": width, "height": height}, locale="en-US", bypass_csp=True
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(url)
            await page.wait_for_function(LIVE, timeout=DEADLINE_MS)
            await page.locator("#votes [data-party]").first.wait_for(timeout=DEADLINE_MS)
            await page.locator("#race [data-candidate]").first.wait_for(timeout=DEADLINE_MS)
            await page.locator("#region-rows td.lead [data-party]").first.wait_for(
                timeout=DEADLINE_MS
            )

            ids = await page.eval_on_selector_all(
                "#votes .party[data-party]", "els => els.map(e => e.dataset.party)"
            )
            assert set(ids) == set(registry)
            names = await _texts(page, "#votes .party[data-party] .party-name")
            assert names == [registry[i].short_name for i in ids]
            colours = await _fills(page, "#votes .party[data-party] .fill")
            assert colours == [_rgb(registry[i].color or "") for i in ids]
            assert len(set(colours)) == len(colours)
            shown = await page.locator("main").inner_text()
            assert not {"nur_otan", "peoples_party", "ak_zhol"} & set(shown.split())
            assert await page.locator('[data-testid="votes-against-all"]').count() == 1
            note = await page.locator("#votes-note").text_content() or ""
            assert "all 730 races" in note and "share of ballots cast" in note
            seats = await _texts(page, "#seats .party-name")
            assert seats[0] == "Nur Otan" and "Independent" in seats
            lead = page.locator('#region-rows tr[data-region="akmola"] td.lead .swatch')
            colour = await lead.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == _rgb(registry["nur_otan"].color or "")
            parties = await _texts(page, "#race .cand-party")
            assert sorted(parties) == sorted(registry[c.party].short_name for c in race.candidates)
            assert await page.locator("#race .cand.against").count() == 1
            basis = await page.locator('[data-testid="race-basis"]').text_content()
            assert basis == "Shares of ballots cast."
            assert await page.locator('[data-testid="race-units"]').is_hidden()

            page_width = await page.evaluate("document.documentElement.scrollWidth")
            assert page_width <= width, f"the page is {page_width}px wide at {width}px"
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(SHOTS / f"dashboard-parties-{name}.png"), full_page=True)
            await page.close()
        await browser.close()
    assert not errors, errors


async def test_a_runoff_is_never_shown_beside_a_majority_share(
    dashboard: tuple[str, ElectionViews, ElectionViews],
) -> None:
    """A majority race measured on ballots cast, in an election whose shares are of valid
    votes: 50.57 % of valid votes is no majority, so the race panel says "Runoff" and shows
    46.84 % of ballots cast, and says so; no "Against all" anywhere (no race has the line);
    the v1 free-text parties get three different fallback colours."""
    async_playwright = require_browser()
    base, _, runoff = dashboard
    url = f"{base}/?election=runoff-2026&region=N&race=M1"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(
            viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(url)
        await page.wait_for_function(LIVE, timeout=DEADLINE_MS)
        outcome = page.locator('[data-testid="race-outcome"]')
        await page.wait_for_function(
            "document.querySelector('[data-testid=race-outcome]')?.textContent"
            ".startsWith('Runoff')",
            timeout=DEADLINE_MS,
        )
        assert (await outcome.text_content() or "").startswith("Runoff: Aigerim A., Bolat B.")
        shares = await _texts(page, "#race .cand[data-candidate] .num")
        pcts = [float(s.split("·")[1].strip().rstrip("%")) for s in shares]
        assert pcts[0] == 46.84 and max(pcts) <= 50
        basis = await page.locator('[data-testid="race-basis"]').text_content() or ""
        assert basis.startswith("Shares of ballots cast: a winner needs more than half of")
        assert "Against all" not in await _texts(page, "#votes .party-name")
        assert await page.locator("#race .cand.against").count() == 0
        note = await page.locator("#votes-note").text_content() or ""
        assert "the one race" in note and "share of valid votes" in note
        colours = await _fills(page, "#votes .party[data-party] .fill")
        assert len(colours) == 3 and len(set(colours)) == 3
        assert await page.locator("#test-banner").is_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px phone"
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(SHOTS / "dashboard-runoff-390px.png"), full_page=True)
        await browser.close()
    assert not errors, errors
    view = runoff.races["M1"].view()
    assert view["majority_base"] == "ballots_cast" and view["share_base"] == "ballots_cast"
