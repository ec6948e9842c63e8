"""The anomalies panel and the call marker in a real headless Chromium, on the live
service and the real Redis: rows that say what, where, when and who; live arrivals;
acknowledge; open the race; a gap filled from REST; no overflow at 390 px.

Screenshots go to $VOTEWIRE_SCREENSHOTS (default: artifacts/ of the repo).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from votewire.config import REPO_ROOT
from votewire.core.anomaly import dead_letter_anomaly, flag_anomaly, read_dead_letter
from votewire.core.codec import decode_definition, decode_report_trusted
from votewire.core.dead_letter import dead_letter_record
from votewire.core.race_call import RaceCall
from votewire.core.tally import ElectionTally
from votewire.infra.anomaly_feed import RedisAnomalyFeed

from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, LiveStack, _require_browser
from tests.e2e.test_dashboard_browser import live_stack as live_stack  # the fixture
from tests.support.definitions import result_report, tiny_definition
from tests.support.live import ElectionViews

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("VOTEWIRE_SCREENSHOTS", REPO_ROOT / "artifacts"))
DEADLINE_MS = 15_000
E = "tiny-2026"
AT = datetime(2026, 7, 25, 15, 5, tzinfo=UTC)


def turnout(rid: str, precinct: str, mark: str, ballots: int) -> dict[str, Any]:
    return {"kind": "turnout", "report_id": rid, "election_id": E, "race_id": "r1",
            "precinct_id": precinct, "mark": mark, "ballots_cast": ballots, "revision": 1,
            "reported_at": f"2026-07-25T{mark}:30+06:00"}  # fmt: skip


def night() -> list[Any]:
    """r1 called for c2, then counted for c1, with a falling turnout on the way."""
    call = RaceCall("desk-1", E, "r1", "winner", ("c2",), AT, "desk-almaty", "early call")
    return [
        decode_report_trusted(turnout("t1", "p1", "10:00", 300)),
        decode_report_trusted(turnout("t2", "p1", "12:00", 250)),
        call,
        decode_report_trusted(result_report("a", "r1", "p1", 1000, {"c1": 400, "c2": 300}, 50, 10)),
        decode_report_trusted(result_report("b", "r1", "p2", 500, {"c1": 200, "c2": 100}, 20, 5)),
    ]


def refusal(precinct: str, credential: str) -> dict[str, Any]:
    _, value = dead_letter_record(
        "ingest", AT, [{"code": "sum_mismatch", "field": "ballots_cast", "message": "7 != 8"}],
        f'{{"race_id": "r1", "precinct_id": "{precinct}"}}', election_id=E, report_id="x-1",
        sender={"credential_id": credential, "via": "http", "peer": None},
    )  # fmt: skip
    letter = read_dead_letter(value)
    assert letter is not None
    return dead_letter_anomaly(letter, decode_definition(tiny_definition()))


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_an_editor_sees_acts_on_and_follows_anomalies_as_they_happen(
    live_stack: LiveStack, shots: Path
) -> None:
    """Three anomalies of the night are listed with what, where, when and who; a new
    one arrives live; acknowledging hides it (and the header count drops); "Open race"
    shows the race with the desk's call beside its outcome, marked as differing from
    the count; a gap in the feed is filled from REST; 390 px has no overflow."""
    async_playwright = _require_browser()
    base = live_stack[2]
    election = ElectionViews(live_stack[0].views, tiny_definition())
    events = night()
    await election.apply(*events)
    tally = ElectionTally(election.definition)
    definition = election.definition
    flagged = [flag_anomaly(definition, f, e) for e in events for f in tally.apply(e).flags]
    assert sorted(a["code"] for a in flagged) == ["call_disagrees", "turnout_decreased"]
    feed = RedisAnomalyFeed(live_stack[0].views)
    await feed.append_many([*flagged, refusal("p2", "commission-p2")])
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await browser.new_page(
            viewport={"width": 1280, "height": 900}, locale="en-US", bypass_csp=True
        )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/?election={E}")
        rows = page.locator("#anomaly-list li.anomaly")
        await rows.nth(2).wait_for(timeout=DEADLINE_MS)
        assert await rows.count() == 3
        badge = page.locator("#anomaly-count")
        assert await badge.text_content() == "3 anomalies open"

        fell = page.locator('li[data-code="turnout_decreased"]')
        text = await fell.text_content() or ""
        assert "Turnout fell" in text and "Turnout fell from 300 at 10:00 to 250 at 12:00" in text
        assert "Ақсу ауылы · №1 (p1)" in text and "mark 12:00" in text
        refused = await page.locator('li[data-code="sum_mismatch"]').text_content() or ""
        assert "Refused: sum mismatch" in refused and "sent by commission-p2" in refused
        assert "ballots_cast: 7 != 8" in refused
        wrong = await page.locator('li[data-code="call_disagrees"]').text_content() or ""
        assert "sent by desk-almaty" in wrong and "whole" not in wrong

        await feed.append_many([refusal("p1", "commission-p1")])  # while the page is open
        await rows.nth(3).wait_for(timeout=DEADLINE_MS)
        assert await badge.text_content() == "4 anomalies open"

        await fell.locator('button[data-action="acknowledge"]').click()
        await page.wait_for_function(
            "document.querySelectorAll('#anomaly-list li.anomaly').length === 3",
            timeout=DEADLINE_MS,
        )
        assert await badge.text_content() == "3 anomalies open"
        await page.locator('[data-testid="show-acknowledged"]').check()
        await page.locator('li.anomaly.done[data-code="turnout_decreased"]').wait_for(
            timeout=DEADLINE_MS
        )
        await page.locator('[data-testid="show-acknowledged"]').uncheck()
        await page.locator('[data-testid="anomaly-source"]').select_option("flag")
        await page.wait_for_function(
            "document.querySelectorAll('#anomaly-list li.anomaly').length === 1",
            timeout=DEADLINE_MS,
        )
        assert await rows.first.get_attribute("data-code") == "call_disagrees"
        await page.locator('[data-testid="anomaly-source"]').select_option("")

        await page.locator('li[data-code="call_disagrees"] button[data-action="open"]').click()
        marker = page.locator('[data-testid="race-call"]')
        await marker.wait_for(timeout=DEADLINE_MS)
        shown = await marker.text_content() or ""
        assert "Desk call Winner: Гүлнар Е." in shown and "desk-almaty" in shown
        assert "differs from the count" in shown
        outcome = await page.locator('[data-testid="race-outcome"]').text_content()
        assert "Winner: Асқар Б." in (outcome or "")
        assert await page.locator(".race-pick .call-mark").count() == 1

        # A connection that fell behind: the page saw up to seq 2 only; the next live
        # anomaly (seq 5) makes it fetch 3 and 4 from REST.
        await page.evaluate(
            """() => { const p = window.votewire.state.anomalies;
                       for (const a of [...p.items.values()])
                         if (a.seq > 2) p.items.delete(a.anomaly_id);
                       p.lastSeq = 2; }"""
        )
        await feed.append_many([refusal("p2", "commission-late")])
        await page.wait_for_function(
            "window.votewire.state.anomalies.items.size === 5"
            " && window.votewire.state.anomalies.lastSeq === 5",
            timeout=DEADLINE_MS,
        )

        assert "gives winner Асқар Б." in (
            await page.locator('li[data-code="call_disagrees"]').text_content() or ""
        )
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(shots / "anomalies-desktop.png"), full_page=True)
        many = [refusal("p1", f"commission-{i}") for i in range(120)]  # past the window
        await feed.append_many(many)
        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True
        )
        await phone.goto(page.url)
        await phone.locator("#anomaly-list li.anomaly").nth(3).wait_for(timeout=DEADLINE_MS)
        await phone.locator('[data-testid="race-call"]').wait_for(timeout=DEADLINE_MS)
        await phone.wait_for_function(  # the snapshot's 100, and the older ones by REST
            "window.votewire.state.anomalies.items.size === 125", timeout=DEADLINE_MS
        )
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px phone"
        await phone.screenshot(path=str(shots / "anomalies-phone.png"), full_page=True)
        await browser.close()
    assert not errors, errors
