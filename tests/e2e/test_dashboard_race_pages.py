"""The dashboard's race list from the paged race list, in real Chromium: the index, then
only the shown group's pages (races:E:G:P), a wide region turned page by page, a page
updated live, the races spanning regions before a region is picked.

Needs Debian's chromium and the playwright package, as test_dashboard_browser.py does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from votewire.infra.redis_views import RedisViews

from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DEADLINE_MS
from tests.e2e.test_dashboard_browser import _require_browser as require_browser
from tests.e2e.test_dashboard_parties import LIVE
from tests.support.heartbeat import pulse
from tests.support.live import ElectionViews, drop_prefix, serve_live
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

E = "wide-2026"
WIDE = 320
"""Races of region W: four pages of 100 (the dashboard follows three at a time)."""
SILENT = "w315"
"""The one race of W not heard from when the page opens."""


def race(race_id: str, region: str | None, precincts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "race_id": race_id, "name": f"Race {race_id}", "region_id": region, "office": "akim",
        "seats": 1, "against_all": False, "winner_rule": "plurality",
        "against_all_rule": "ignore", "precincts": precincts,
        "candidates": [{"candidate_id": "A", "name": "Alpha", "party": "p1"},
                       {"candidate_id": "B", "name": "Beta", "party": "p2"}],
    }  # fmt: skip


def one_precinct(region: str | None = None) -> list[dict[str, Any]]:
    found: dict[str, Any] = {"precinct_id": "P1", "name": "P1", "registered": 100}
    return [found | {"region_id": region}] if region else [found]


def definition() -> dict[str, Any]:
    """Region W of `WIDE` races, region V of one, and a race spanning both."""
    other = {"precinct_id": "P2", "name": "P2", "registered": 100, "region_id": "V"}
    spanning = [*one_precinct("W"), other]
    return {
        "election_id": E, "name": "Wide region", "date": "2026-07-25",
        "timezone": "Asia/Almaty", "turnout_marks": ["10:00"], "share_base": "ballots_cast",
        "test": True,
        "regions": [{"region_id": "W", "name": "Wide", "timezone": None},
                    {"region_id": "V", "name": "Small", "timezone": None}],
        "races": [race("pres", None, spanning)]
        + [race(f"w{i:03d}", "W", one_precinct()) for i in range(WIDE)]
        + [race("v001", "V", one_precinct())],
    }  # fmt: skip


def result(race_id: str, precinct_id: str = "P1") -> dict[str, Any]:
    return {
        "kind": "result", "report_id": f"{race_id}-{precinct_id}", "election_id": E,
        "race_id": race_id, "precinct_id": precinct_id, "registered": 100,
        "ballots_cast": 60, "votes": {"A": 40, "B": 20}, "against_all": 0, "invalid": 0,
        "revision": 1, "reported_at": "2026-07-25T20:30:00+06:00",
    }  # fmt: skip


@pytest.fixture
async def wide() -> AsyncIterator[tuple[str, ElectionViews]]:
    """A live server over Redis holding the election, every race heard from but `SILENT`."""
    settings = settings_for(isolated_env("dash-pages"))
    client = aioredis.Redis.from_url(settings.redis_url)
    views = ElectionViews(RedisViews(client, settings.redis_prefix), definition())
    reports = [result("pres"), result("pres", "P2"), result("v001")]
    reports += [result(f"w{i:03d}") for i in range(WIDE) if f"w{i:03d}" != SILENT]
    await views.apply(*reports)
    try:
        async with pulse(client, settings.redis_prefix), serve_live(settings) as server:
            yield server.http, views
    finally:
        await drop_prefix(client, settings.redis_prefix)
        await client.aclose()


async def races_followed(page: Any) -> list[str]:
    found: list[str] = await page.evaluate(
        "[...window.votewire.client.channels.keys()].filter((c) => c.startsWith('races:'))"
    )
    return sorted(found)


async def listed(page: Any, count: int) -> None:
    await page.wait_for_function(
        f"document.querySelectorAll('button.race-pick').length === {count}", timeout=DEADLINE_MS
    )


async def test_the_race_list_follows_the_index_and_the_shown_pages_only(
    wide: tuple[str, ElectionViews],
) -> None:
    """Before a region is picked: the races spanning regions (page `-`:0). Region W: its
    first three pages (300 races) and a pager; "next" follows page 3 alone (20 races),
    whose unheard race turns complete live; region V: its one page, no pager. The page
    never follows another group's pages."""
    async_playwright = require_browser()
    base, views = wide
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="en-US", bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/?election={E}")
        await page.wait_for_function(LIVE, timeout=DEADLINE_MS)
        await listed(page, 1)
        assert await page.locator("#region-title").text_content() == "Nationwide races"
        assert await races_followed(page) == [f"races:{E}", f"races:{E}:-:0"]

        await page.locator('#region-rows tr[data-region="W"] button').click()
        await listed(page, 300)
        pager = page.locator("[data-testid=race-pager]")
        assert (await pager.text_content() or "").startswith(f"Races 1–300 of {WIDE}")
        assert await races_followed(page) == [f"races:{E}"] + [f"races:{E}:W:{p}" for p in range(3)]

        await page.get_by_text("next ›").click()
        await listed(page, WIDE - 300)
        assert await page.locator("button.race-pick .race-name").first.text_content() == "Race w300"
        assert await races_followed(page) == [f"races:{E}", f"races:{E}:W:3"]
        silent = page.locator(f'button.race-pick[data-race="{SILENT}"] .status')
        assert await silent.text_content() == "not reporting"
        await views.apply(result(SILENT))
        await page.wait_for_function(
            f"document.querySelector('button.race-pick[data-race=\"{SILENT}\"] .status')"
            ".textContent === 'complete'",
            timeout=DEADLINE_MS,
        )

        await page.locator('#region-rows tr[data-region="V"] button').click()
        await listed(page, 1)
        assert await pager.count() == 0
        assert await races_followed(page) == [f"races:{E}", f"races:{E}:V:0"]
        await browser.close()
    assert not errors, errors
