"""The GB/T 33358 report against the real PBX: calls answered and given up
in the bundled Asterisk, the report for the day agreeing with the seat
map's figures (the same records), and the page a lead reads."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.roles import Role
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.desk import Desk
from tests.integration.floor import acd, iface, member_paused, queue_caller
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def test_the_days_report_agrees_with_the_seat_map_and_names_what_it_leaves_out(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        # Two callers answered.
        for caller in ("13600000501", "13600000502"):
            await queue_caller(ami, caller)
            await recorder.wait_for(ev.AgentConnect, lambda e, c=caller: e.caller_id_num == c, timeout=20)
            await ami.action("Hangup", Channel="/^Local.s@hotline-fallback/")
            await desk.call("POST", "/api/agent/wrapup/end")
        # With the agent away, one caller gives up after 7 s (counted), one after 2 s (left out).
        await desk.call("POST", "/api/agent/pause", json={"reason": "meeting"})
        # The pause reaches Asterisk after the wrap-up's end; a caller queued between the two is answered.
        await eventually(lambda: member_paused(ami, iface(1), "会议"), timeout=20)
        for caller, seconds in (("13600000503", 7), ("13600000504", 2)):
            await queue_caller(ami, caller)
            await recorder.wait_for(ev.QueueCallerJoin, lambda e, c=caller: e.caller_id_num == c, timeout=20)
            await asyncio.sleep(seconds)
            await ami.action("Hangup", Channel="/^Local.s@hotline-fallback/")
            await recorder.wait_for(ev.QueueCallerAbandon, lambda e, c=caller: e.caller_id_num == c, timeout=20)
        await acd(controller).drain()
        _, figures = await lead.request("GET", "/api/acd/figures")
        status, r = await lead.request("GET", "/api/reports/standards")
        assert status == 200, r
        t = figures["total"]
        assert (t["offered"], t["answered"], t["abandoned_short"]) == (4, 2, 1)
        # The same records: the report's offered is the seat map's less the short abandons.
        assert (r["offered"], r["answered"]) == (t["offered"] - t["abandoned_short"], t["answered"])
        conn = r["figures"][0]
        assert (conn["numerator"], conn["denominator"], conn["met"]) == (2, 3, False)
        assert "不足 5 秒的来电 1 通" in conn["exclusions"] and conn["worst_window"]["value"] == round(2 / 3, 4)
        assert r["figures"][1]["numerator"] == t["answered_within_15s"]
        for bad in ("day=2026-13-01", "month=2026", "day=yesterday"):
            assert (await lead.request("GET", "/api/reports/standards?" + bad))[0] == 400
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1200, "height": 800})).new_page()
            await page.goto(str(controller.make_url("/reports/standards")))
            await sign_in(page, lead.username, lead.password, "/reports/standards")
            await page.wait_for_selector("#rows td:has-text('接通率（任意 24 小时）')")
            await page.wait_for_selector("#rows .miss")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "report-standards.png"), full_page=True)
    finally:
        await desk.close()
        await lead.close()
