"""The staffing advisor on the lead's seat map: a month of calls in the
controller's database, the lines each half hour needs beside the configured
ones, and the what-if."""

from __future__ import annotations

import datetime as dt
import heapq
import random

import pytest
from aiohttp.test_utils import TestServer

from hotline.db.models import QueueCall
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import SHANGHAI, Clock
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


def simulated(arrivals_per_hour: float, lines: int, callers: int = 100_000) -> tuple[float, float]:
    """Service level (answered within 15 s / offered) and connection rate of
    first-come-first-served lines, found by playing callers through them
    rather than by the advisor's formula: Poisson arrivals, 240 s handling
    and 400 s patience, both exponential (what the seeded history holds)."""
    rng = random.Random(7)
    free = [0.0] * lines  # when each line is next free
    t = 0.0
    fast = answered = 0
    for _ in range(callers):
        t += rng.expovariate(arrivals_per_hour / 3600)
        start = max(t, free[0])
        if start - t > rng.expovariate(1 / 400):
            continue  # gave up before a line was free
        heapq.heapreplace(free, start + rng.expovariate(1 / 240))
        answered += 1
        fast += start - t <= 15
    return fast / callers, answered / callers


def simulated_need(arrivals_per_hour: float) -> int:
    """The fewest lines giving 80 % within 15 s and 95 % connected."""
    n = 1
    while True:
        sl, connected = simulated(arrivals_per_hour, n)
        if sl >= 0.8 and connected >= 0.95:
            return n
        n += 1


async def test_the_advisor_recommends_lines_per_half_hour_and_answers_what_if(
    controller: TestServer, clock: Clock
) -> None:
    rng = random.Random(3)
    today = clock.now.astimezone(SHANGHAI).date()
    clock.now = dt.datetime.combine(today, dt.time(23, 0), tzinfo=SHANGHAI)  # the four weeks end tonight
    async with controller.app[SESSIONS]() as db, db.begin():
        # Four weeks: 60 calls in every half hour from 09:00 to 11:00, 240 s each, one in twenty gives up.
        for day in range(28):
            for slot in range(4):
                start = dt.datetime.combine(
                    today - dt.timedelta(days=day), dt.time(9 + slot // 2, 30 * (slot % 2)), tzinfo=SHANGHAI
                ).timestamp()
                for n in range(60):
                    t = start + rng.uniform(0, 1800)
                    gave_up = n % 20 == 0
                    db.add(
                        QueueCall(
                            uniqueid=f"{day}-{slot}-{n}",
                            queue="hotline",
                            joined_at=t,
                            hold_s=20.0,
                            abandoned=gave_up,
                            answered_at=None if gave_up else t + 20,
                            talk_s=None if gave_up else 220.0,
                            wrapup_s=None if gave_up else 20.0,
                        )
                    )
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        status, r = await lead.request("GET", "/api/acd/staffing")
        # 1 200 s waited by every half hour's callers over its 3 who gave up: a mean patience of 400 s.
        assert status == 200 and (r["calls"], r["handle_s"], r["patience_s"]) == (28 * 4 * 60, 240.0, 400.0)
        assert r["enough"] is True and r["basis"].startswith("依据自") and "参考" not in r["basis"]
        nine = r["slots"][18]
        assert (nine["start"], nine["arrivals"], nine["erlangs"], nine["configured"]) == ("09:00", 60.0, 8.0, 6)
        # 8 erlangs: the lines it needs and what 6 give, as callers played through the lines find them.
        assert nine["recommended"] == simulated_need(120) == 11
        for lines, model in ((6, nine["with_configured"]), (11, nine["with_recommended"])):
            sl, connected = simulated(120, lines)
            assert abs(model["service_level"] - sl) < 0.015 and abs(model["connection_rate"] - connected) < 0.01
        assert r["slots"][2]["recommended"] == 0  # 01:00: nobody called
        _, quiet = await lead.request("GET", "/api/acd/staffing?k=0.25")
        _, busy = await lead.request("GET", "/api/acd/staffing?k=3")
        assert quiet["slots"][18]["recommended"] == simulated_need(30) == 4
        assert busy["slots"][18]["recommended"] == simulated_need(360) == 28
        for bad in ("k=0", "k=abc", "k=nan", "weeks=13"):
            status, err = await lead.request("GET", "/api/acd/staffing?" + bad)
            assert status == 400, (bad, err)
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1300, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.click("#staffing summary")
            await page.wait_for_selector("#staffTable tr.short td:has-text('09:00')")
            await page.locator("#staffing").scroll_into_view_if_needed()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-staffing.png"), full_page=True)
    finally:
        await lead.close()


async def test_a_few_minutes_of_calls_are_not_advice_and_the_page_says_so(controller: TestServer, clock: Clock) -> None:
    """Before: eight minutes of a demo's calls were spread over 28 days and the
    advisor said two lines would answer everyone in 15 s."""
    now = clock.now.timestamp()
    async with controller.app[SESSIONS]() as db, db.begin():
        for n in range(24):
            t = now - 480 + 20 * n
            db.add(
                QueueCall(
                    uniqueid=f"short-{n}",
                    queue="hotline",
                    joined_at=t,
                    hold_s=60.0,
                    abandoned=n % 3 == 0,
                    answered_at=None if n % 3 == 0 else t + 60,
                    talk_s=None if n % 3 == 0 else 120.0,
                    wrapup_s=None if n % 3 == 0 else 20.0,
                )
            )
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        _, r = await lead.request("GET", "/api/acd/staffing")
        assert r["enough"] is False and r["calls"] == 24 and r["span_days"] <= 0.01
        assert "24 通来电：记录太少" in r["basis"] and "不能作为排班依据" in r["basis"]
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.click("#staffing summary")
            await page.wait_for_selector("#staffInfo.thin:has-text('记录太少')")
            await page.locator("#staffing").scroll_into_view_if_needed()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-staffing-short.png"))
    finally:
        await lead.close()
