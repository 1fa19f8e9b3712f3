"""Contingency plans an admin prepares on the plans page, against the real
PBX: a plan made there is the lead's to start and changes what it names —
its line count holds across a change of line window (the night does not
end a heating-season plan), its callback policy changes what waiting callers
hear (app_queue's own log of the files it plays) — and its end gives back
the schedule's count and the configured offer. Bad input is refused with a
message the admin sees next to the field, after the next refresh too."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer

from hotline.acd.api import ACD, OFFER
from hotline.acd.offer import QUEUES_FILE, in_config
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.pbx.process import Pbx
from hotline.plans.api import PLANS
from hotline.plans.book import PlanBook
from hotline.roles import Role
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.floor import equals, iface, queue_caller, staff, takers
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def pbx_offer(ami: AMIClient) -> int | None:
    reply = await ami.action("GetConfig", Filename=QUEUES_FILE, Category="hotline")
    return in_config([v for k, v in reply.as_dict().items() if k.startswith("Line-")])


async def test_an_admin_prepares_a_plan_on_the_page_and_bad_input_is_shown_beside_its_field(
    controller: TestServer,
) -> None:
    app = controller.app
    admin = await Api(controller).login_as(Role.ADMIN, "plan-admin")
    lead = await Api(controller).login_as(Role.LEAD, "plan-lead2")
    try:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/admin/plans")))
            await sign_in(page, admin.username, admin.password, "/admin/plans")
            await page.wait_for_selector("#plans tr[data-code='heating']")
            await page.fill("#f-code", "Typhoon 1")  # not a code
            await page.fill("#f-name", "台风防汛")
            await page.click("#save")
            await page.wait_for_selector("#msg.err:has-text('编号：只能用小写字母、数字和短横线')")
            assert await page.locator("#f-code.bad").count() == 1
            await page.fill("#f-code", "typhoon")
            await page.fill("#f-lines", "4")
            await page.fill("#f-callback_offer_seconds", "0")
            await page.select_option("#f-standby", "on")
            await page.select_option("#f-pinned", ["供暖问题受理要点"])
            await page.fill("#f-announcement", "受台风影响，部分道路积水，请注意安全。")
            await page.fill("#t-waiting_over", "6")
            await page.fill("#t-for_minutes", "2")
            await page.click("#save")
            await page.wait_for_selector("#msg.ok:has-text('已保存预案「台风防汛」')")
            row = page.locator("#plans tr[data-code='typhoon']")
            await row.wait_for()
            text = await row.inner_text()
            assert (
                "线路数 4" in text
                and "排队回拨提示 不提示" in text
                and "备班 开启" in text
                and "排队超过 6 人持续 2 分钟" in text
            )
            assert "管理员 plan-admin" in text
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "plans-admin.png"), full_page=True)
            # Editing a plan of the configuration file: the page's replaces it.
            await page.click("#plans tr[data-code='surge'] button[data-act='edit']")
            assert await page.locator("#f-code").is_disabled()
            await page.fill("#f-lines", "7")
            await page.click("#save")
            await page.wait_for_selector("#plans tr[data-code='surge']:has-text('替换配置文件中的同名预案')")
        # The lead's switch offers it, and starting it changes what it names.
        _, listed = await lead.request("GET", "/api/plans")
        assert {"typhoon", "surge", "heating"} <= {p["code"] for p in listed["plans"]}
        assert "flow_versions" not in listed  # the pickers are the admin's
        status, _ = await lead.request("POST", "/api/plans/typhoon/start", json={"reason": "台风预警"})
        assert status == 201
        acd = app[ACD]
        assert acd.lines.target == 4 and acd.lines.standby_manual is True and app[OFFER].seconds == 0
        # Exact JSON types; a running plan cannot be deleted; the lead cannot prepare plans.
        status, body = await admin.request(
            "PUT", "/api/plans/typhoon", json={"code": "typhoon", "name": "x", "lines": "4"}
        )
        assert (status, body["details"]["field"]) == (400, "lines") and "线路数：应为整数" in body["message"]
        status, body = await admin.request("POST", "/api/plans", json={"code": "x1", "name": "x", "pinned": ["没有的"]})
        assert status == 400 and "知识库中没有「没有的」" in body["message"]
        status, body = await admin.request("DELETE", "/api/plans/typhoon")
        assert status == 409 and body["error_id"] == "plan-refused"
        assert (await lead.request("POST", "/api/plans", json={"code": "x2", "name": "x"}))[0] == 403
        await lead.request("POST", "/api/plans/end", json={"reason": ""})
        assert acd.lines.plan is None and app[OFFER].seconds == app[SETTINGS].acd.callback_offer_seconds
        # Stored: a controller that starts again finds the page's plans.
        again = await PlanBook(app[SETTINGS].plans, app[SESSIONS], app[CLOCK]).load()
        assert again["typhoon"].lines == 4 and again["surge"].lines == 7
        status, _ = await admin.request("DELETE", "/api/plans/typhoon")
        assert status == 200
        assert "typhoon" not in await PlanBook(app[SETTINGS].plans, app[SESSIONS], app[CLOCK]).load()
    finally:
        await admin.close()
        await lead.close()


async def test_a_plans_line_count_outlasts_the_line_window_and_its_end_gives_the_schedule_back(
    controller: TestServer, ami: AMIClient
) -> None:
    app = controller.app
    acd, plans = app[ACD], app[PLANS]
    plans.plans["long"] = plans.plans["surge"].model_copy(update={"code": "long", "name": "长时预案", "lines": 3})
    await staff(controller, 4)
    await eventually(lambda: equals(takers(ami), {iface(n) for n in range(1, 5)}))  # day: 6 lines, 4 agents
    await plans.start("long", "lead", "")
    await eventually(lambda: equals(takers(ami), {iface(n) for n in range(1, 4)}))
    acd.clock.now = acd.clock.now.replace(hour=21)  # the night window: 2 lines by the schedule
    await eventually(lambda: acd.lines.window == "default", timeout=10)
    await asyncio.sleep(1.5)  # a planner tick or more at night
    assert acd.lines.target == 3 and len(await takers(ami)) == 3  # the plan's count holds
    await acd.set_lines(1, "lead")  # the lead's own, at night, outranks it ...
    await eventually(lambda: equals(takers(ami), {iface(1)}))
    ended = await plans.end("lead", "")
    assert ended["kept"] == ["线路数"]  # ... and outlives the plan within its window
    assert acd.lines.target == 1 and acd.lines.plan is None
    await acd.set_lines(None, "lead")
    await eventually(lambda: equals(takers(ami), {iface(1), iface(2)}))  # the night's 2


async def test_a_plans_callback_policy_changes_what_waiting_callers_hear(
    controller: TestServer, ami: AMIClient, recorder: Recorder, pbx: Pbx
) -> None:
    app = controller.app
    plans, offer = app[PLANS], app[OFFER]
    configured = app[SETTINGS].acd.callback_offer_seconds  # 5 s in the tests
    plans.plans["no-offer"] = plans.plans["surge"].model_copy(
        update={"code": "no-offer", "name": "暂停回拨", "callback_offer_seconds": 0}
    )
    assert await pbx_offer(ami) == configured
    await plans.start("no-offer", "lead", "回拨积压")
    assert offer.seconds == 0 and await pbx_offer(ami) == 0
    log = pbx.paths.messages_log
    await ami.command("core set verbose 3")  # file.c names every file it plays
    try:
        start = log.stat().st_size
        caller = await queue_caller(ami)  # nobody is logged in: the caller waits
        await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == caller, timeout=20)
        heard = lambda: log.read_text(errors="replace")[start:]  # noqa: E731
        # Position announcements every 5 s prove the caller is hearing the queue's prompts ...
        await eventually(lambda: heard().count("queue-youarenext") >= 2, timeout=30)
        assert "queue-callback-offer" not in heard()  # ... and never the offer
        await plans.end("lead", "")
        assert offer.seconds == configured and await pbx_offer(ami) == configured
        # The same caller, still waiting, is offered the callback again.
        await eventually(lambda: "queue-callback-offer" in heard(), timeout=20)
    finally:
        await ami.command("core set verbose 2")
    assert app[ACD].changes and any("暂停提示" in c.detail for c in app[ACD].changes)
