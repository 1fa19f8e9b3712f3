"""The staffing advisor on the lead's seat map: a month of calls in the
controller's database, the lines each half hour needs beside the configured
ones, and the what-if."""

from __future__ import annotations

import datetime as dt
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
        assert status == 200 and r["calls"] == 28 * 4 * 60 and r["handle_s"] == 240.0
        nine = r["slots"][18]
        assert (nine["start"], nine["arrivals"], nine["configured"]) == ("09:00", 60.0, 6)
        # 8 erlangs on 6 lines: the model says how short it falls, and what is enough.
        assert nine["recommended"] > 6 and nine["with_configured"]["connection_rate"] < 0.95
        assert nine["with_recommended"]["service_level"] >= 0.8
        assert r["slots"][2]["recommended"] == 0  # 01:00: nobody called
        _, quiet = await lead.request("GET", "/api/acd/staffing?k=0.25")
        _, busy = await lead.request("GET", "/api/acd/staffing?k=3")
        assert quiet["slots"][18]["recommended"] <= 6 < nine["recommended"] < busy["slots"][18]["recommended"]
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
