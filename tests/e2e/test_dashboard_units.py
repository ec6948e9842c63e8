"""The race page of a race spanning regions, in real Chromium: the region table (leader
in party colour, % reporting, turnout) updating live, the district drill-down, and a
390 px phone with no horizontal overflow.

Needs Debian's chromium and the playwright package, as test_dashboard_browser.py does.
Screenshots go to $VOTEWIRE_SCREENSHOTS (default: artifacts/ of the repo).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from votewire.core.percent import pct, reporting_pct
from votewire.infra.redis_views import RedisViews
from votewire.live.limits import LiveLimits

from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DEADLINE_MS
from tests.e2e.test_dashboard_browser import _require_browser as require_browser
from tests.e2e.test_dashboard_parties import LIVE, SHOTS, _rgb
from tests.support.definitions import result_report
from tests.support.heartbeat import pulse
from tests.support.live import ElectionViews, drop_prefix, serve_live
from tests.support.stack import isolated_env, settings_for

pytestmark = pytest.mark.e2e

E = "nation-units-2026"
PARTIES = [
    {"party_id": "amanat", "name": "Amanat Party", "short_name": "Amanat", "color": "#1f6fb4"},
    {"party_id": "ak_zhol", "name": "Ak Zhol Democratic Party", "short_name": "Ak Zhol",
     "color": "#e07b00"},
    {"party_id": "auyl", "name": "Auyl People's Party", "short_name": "Auyl", "color": "#2a9d3a"},
]  # fmt: skip
REGIONS = {"A": "Akmola Region", "B": "West Kazakhstan Region", "C": "Shymkent City"}
DISTRICTS = {
    "A1": ("A", "Arshaly District"),
    "A2": ("A", "Astrakhan District"),
    "B1": ("B", "Akzhaik District"),
    "B2": ("B", "Bayterek District"),
    "C1": ("C", "Abay District"),
    "C2": ("C", "Al-Farabi District"),
}
CANDIDATES = {"X": "amanat", "Y": "ak_zhol", "Z": "auyl"}
NAMES = {"X": "Nurlan Abenov", "Y": "Aigerim Zhaksybekova", "Z": "Bolat Seitkali"}
PRECINCTS = {f"P{i:02}": list(DISTRICTS)[(i - 1) // 5] for i in range(1, 31)}
"""30 precincts, 5 per district: P01-P05 in A1, P06-P10 in A2, ... P26-P30 in C2."""


def registered(pid: str) -> int:
    return 800 + 10 * int(pid[1:])


def definition() -> dict[str, Any]:
    """A contract v2 definition: a presidential race over 3 regions and 6 districts, and a
    local race in region A (so the national view, which carries the parties, is out)."""
    return {
        "election_id": E,
        "name": "National rehearsal",
        "date": "2026-06-07",
        "timezone": "Asia/Almaty",
        "turnout_marks": ["10:00"],
        "share_base": "ballots_cast",
        "test": True,
        "parties": PARTIES,
        "regions": [{"region_id": g, "name": n, "timezone": None} for g, n in REGIONS.items()],
        "districts": [
            {"district_id": d, "region_id": g, "name": n} for d, (g, n) in DISTRICTS.items()
        ],
        "races": [
            {
                "race_id": "PRES",
                "name": "President",
                "region_id": None,
                "office": "president",
                "seats": 1,
                "against_all": False,
                "winner_rule": "majority",
                "against_all_rule": "ignore",
                "candidates": [
                    {"candidate_id": c, "name": NAMES[c], "party": p} for c, p in CANDIDATES.items()
                ],
                "precincts": [
                    {
                        "precinct_id": pid,
                        "name": f"School {pid}",
                        "registered": registered(pid),
                        "region_id": DISTRICTS[d][0],
                        "district_id": d,
                    }
                    for pid, d in PRECINCTS.items()
                ],
            },
            {
                "race_id": "M1",
                "name": "Mayor of Kokshetau",
                "region_id": "A",
                "office": "mayor",
                "seats": 1,
                "against_all": False,
                "winner_rule": "plurality",
                "against_all_rule": "ignore",
                "candidates": [{"candidate_id": "K", "name": "Candidate K", "party": "amanat"}],
                "precincts": [{"precinct_id": "K1", "name": "School K1", "registered": 500}],
            },
        ],
    }


class Night:
    """The reports sent so far, and what each unit must show, summed independently."""

    def __init__(self, views: ElectionViews) -> None:
        self.views = views
        self.sent: dict[str, dict[str, Any]] = {}

    async def report(self, pid: str, x: int, y: int, z: int, invalid: int = 5) -> None:
        rep = result_report(
            f"r-{pid}", "PRES", pid, registered(pid), {"X": x, "Y": y, "Z": z}, 0, invalid,
            election_id=E,
        )  # fmt: skip
        self.sent[pid] = rep
        await self.views.apply(rep)

    def expected(self, level: str, unit: str) -> dict[str, Any]:
        """Leader, its party's colour, its share, % reporting and turnout of one unit."""
        pids = [p for p, d in PRECINCTS.items() if (d if level == "district" else d[0]) == unit]
        sums: dict[str, int] = defaultdict(int)
        for pid in pids:
            if pid in self.sent:
                rep = self.sent[pid]
                sums["reporting"] += 1
                sums["ballots"] += rep["ballots_cast"]
                sums["registered"] += rep["registered"]
                for c, v in rep["votes"].items():
                    sums[c] += v
        leader = max(CANDIDATES, key=lambda c: sums[c])
        colour = next(p["color"] for p in PARTIES if p["party_id"] == CANDIDATES[leader])
        return {
            "leader": leader,
            "colour": _rgb(colour),
            "share": f"{pct(sums[leader], sums['ballots'])}%",
            "reporting": f"{reporting_pct(sums['reporting'], len(pids))}%",
            "turnout": f"{pct(sums['ballots'], sums['registered'])}%",
        }


@pytest.fixture
async def night(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Night]]:
    """A live server over Redis holding the fixture election with reports in regions A and
    B (none in C), and a healthy aggregate heartbeat; an indirect parameter is the server's
    channel limit per connection."""
    channels = getattr(request, "param", None)
    limits = LiveLimits(max_channels=channels) if channels else None
    env = isolated_env("dash-units")
    settings = settings_for(env)
    client = aioredis.Redis.from_url(settings.redis_url)
    views = ElectionViews(RedisViews(client, settings.redis_prefix), definition())
    state = Night(views)
    await views.apply(result_report("m1", "M1", "K1", 500, {"K": 300}, 0, 10, election_id=E))
    for pid, votes in {
        "P01": (300, 200, 50),
        "P02": (280, 150, 90),
        "P03": (150, 310, 40),
        "P06": (320, 100, 70),
        "P11": (120, 330, 60),
        "P12": (100, 290, 95),
        "P16": (200, 180, 150),
    }.items():
        await state.report(pid, *votes)
    try:
        async with pulse(client, settings.redis_prefix), serve_live(settings, limits) as server:
            yield server.http, state
    finally:
        await drop_prefix(client, settings.redis_prefix)
        await client.aclose()


async def row(page: Any, level: str, unit: str) -> dict[str, Any]:
    """What the unit's row shows: leader id, its swatch colour, share, reporting, turnout."""
    found: dict[str, Any] = await page.evaluate(  # one synchronous read: renders replace rows
        """sel => { const tr = document.querySelector(sel); return {
            leader: tr.querySelector("td.lead")?.dataset.leader ?? null,
            colour: tr.querySelector("td.lead .swatch")
                ? getComputedStyle(tr.querySelector("td.lead .swatch")).backgroundColor : null,
            share: tr.querySelector("td.lead .lead-share").textContent,
            reporting: tr.querySelector(".reporting-pct").textContent,
            turnout: tr.querySelector("td.turnout").textContent,
        }; }""",
        f'#race tr[data-level="{level}"][data-unit="{unit}"]',
    )
    return found


async def shows(page: Any, night: Night, level: str, unit: str) -> None:
    """Waits until the unit's row shows what the reports sent so far add up to."""
    want = night.expected(level, unit)
    selector = f'#race tr[data-level="{level}"][data-unit="{unit}"]'
    await page.wait_for_function(
        """([sel, reporting, leader]) => {
            const tr = document.querySelector(sel);
            return tr && tr.querySelector(".reporting-pct").textContent === reporting
                && tr.querySelector("td.lead")?.dataset.leader === leader;
        }""",
        arg=[selector, want["reporting"], want["leader"]],
        timeout=DEADLINE_MS,
    )
    assert await row(page, level, unit) == want


async def order(page: Any, units: str) -> None:
    """Waits until the region rows are those of `units` ("A,C,B"), in that order."""
    await page.wait_for_function(
        """want => [...document.querySelectorAll('#race tr[data-level=region]')]
            .map(r => r.dataset.unit).join() === want""",
        arg=units,
        timeout=DEADLINE_MS,
    )


async def fits(page: Any, width: int) -> None:
    """Neither the page nor the unit table is wider than the screen / its box."""
    page_width = await page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, f"the page is {page_width}px wide at {width}px"
    over = await page.eval_on_selector(
        "#race .race-units .scroll", "box => box.scrollWidth - box.clientWidth"
    )
    assert over <= 0, f"the unit table overflows its box by {over}px at {width}px"


async def shot(page: Any, name: str) -> None:
    """The race card, cut from the whole page (an element shot has the sticky header
    over it)."""
    await page.evaluate("window.scrollTo(0, 0)")
    box = await page.locator("#race").bounding_box()
    await page.screenshot(path=str(SHOTS / name), full_page=True, clip=box)


@pytest.mark.parametrize(
    "width,height,name", [(1280, 900, "desktop"), (820, 900, "820px"), (390, 844, "390px")]
)
async def test_the_region_table_paints_leaders_updates_live_and_drills_into_districts(
    night: tuple[str, Night], width: int, height: int, name: str
) -> None:
    """Regions A and B show their leader's party colour, share, % reporting and turnout,
    and C's unreported precincts are counted; a result in C adds its row and one in A flips
    A's leader, live; a heading sorts the rows; opening A lists its two districts (and
    only those), which follow a new result live; the page never overflows the screen."""
    async_playwright = require_browser()
    base, state = night
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(
            viewport={"width": width, "height": height}, locale="en-US", bypass_csp=True
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/?election={E}&race=PRES")
        await page.wait_for_function(LIVE, timeout=DEADLINE_MS)
        await shows(page, state, "region", "A")
        await shows(page, state, "region", "B")
        units = await page.eval_on_selector_all(
            '#race tr[data-level="region"]', "rows => rows.map(r => r.dataset.unit)"
        )
        assert units == ["A", "B"]  # by name: Akmola, West Kazakhstan
        assert "null" not in (await page.locator("#race").inner_text()).split()
        rest = await page.locator("#race tr.rest.region").text_content()
        assert rest == "10 more precincts in regions not reporting yet"
        assert (await row(page, "region", "A"))["leader"] == "X"
        await fits(page, width)
        await shot(page, f"region-table-{name}.png")

        await state.report("P21", 90, 100, 400)  # C's first result: a row it did not have
        await state.report("P07", 10, 900, 20)  # A's leader becomes Y
        await shows(page, state, "region", "C")
        await shows(page, state, "region", "A")
        assert (await row(page, "region", "A"))["leader"] == "Y"
        assert await page.locator("#race tr.rest.region").count() == 0
        await order(page, "A,C,B")  # by name: Akmola, Shymkent, West Kazakhstan
        await page.locator("#race thead th.reporting button").click()  # most reported first
        await order(page, "A,B,C")  # 50 %, 30 %, 10 %
        await page.locator("#race thead th:first-child button").click()
        await order(page, "A,C,B")

        await page.locator('#race tr[data-unit="A"] button.unit-open').click()
        await shows(page, state, "district", "A1")
        await shows(page, state, "district", "A2")
        districts = await page.eval_on_selector_all(
            '#race tr[data-level="district"]', "rows => rows.map(r => r.dataset.unit)"
        )
        assert districts == ["A1", "A2"]
        head = await page.locator('[data-testid="drill-head"]').text_content() or ""
        assert head == "Districts of Akmola Region · live"
        await state.report("P04", 500, 20, 20)  # followed live in the open drill-down
        await shows(page, state, "district", "A1")
        await shows(page, state, "region", "A")
        await fits(page, width)
        await shot(page, f"district-drilldown-{name}.png")

        await page.locator('#race tr[data-unit="A"] button.unit-open').click()  # closes
        await page.wait_for_function(
            "!document.querySelector('#race tr[data-level=district]')", timeout=DEADLINE_MS
        )
        channels = await page.evaluate("[...window.votewire.client.channels.keys()]")
        assert not [c for c in channels if ":district." in c]
        assert sorted(c for c in channels if c.startswith("unit:")) == [
            f"unit:{E}:PRES:region.{g}" for g in "ABC"
        ]
        await browser.close()
    assert not errors, errors


@pytest.mark.parametrize("night", [9], indirect=True)
async def test_districts_beyond_the_channel_limit_are_polled(night: tuple[str, Night]) -> None:
    """A server allowing 9 channels refuses the drill-down's second district channel: the
    page polls the open region's districts over REST instead, says so, and still shows a
    new result."""
    async_playwright = require_browser()
    base, state = night
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(
            viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/?election={E}&race=PRES")
        await page.wait_for_function(LIVE, timeout=DEADLINE_MS)
        await shows(page, state, "region", "A")
        await page.locator('#race tr[data-unit="A"] button.unit-open').click()
        await page.wait_for_function(
            "document.querySelector('[data-testid=drill-head]')?.textContent"
            ".endsWith('updated every 10 s')",
            timeout=DEADLINE_MS,
        )
        await shows(page, state, "district", "A2")
        await state.report("P08", 5, 5, 700)
        await shows(page, state, "region", "A")  # its channel: live
        want = state.expected("district", "A2")
        await page.wait_for_function(  # the next poll, within its 10 s
            "([r]) => document.querySelector('#race tr[data-unit=A2] .reporting-pct')"
            "?.textContent === r",
            arg=[want["reporting"]],
            timeout=DEADLINE_MS + 10_000,
        )
        assert await row(page, "district", "A2") == want
        channels = await page.evaluate("[...window.votewire.client.channels.keys()]")
        assert not [c for c in channels if ":district." in c]
        await browser.close()
    assert not errors, errors
