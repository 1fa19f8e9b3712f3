"""Contingency plans (应急预案) against the real PBX: the lead starts one
with one switch on the seat map and the announcement, the IVR flow, the
lines, standby, overflow and the desk's pinned article change at once (a
caller hears the announcement: measured from what the caller's phone
recorded); ending it restores everything, except what the lead changed
meanwhile. A plan with a trigger starts itself when callers pile up."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp.test_utils import TestServer

from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Plan, PlanTrigger
from hotline.db.models import Ticket
from hotline.ivr.api import ANNOUNCEMENTS, FLOWS
from hotline.ivr.app import DIALPLAN
from hotline.ivr.service import MAIN_FLOW, SHIPPED_FLOWS
from hotline.plans.api import PLANS
from hotline.roles import Role
from hotline.sim import call_in
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.audio import rms_between
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.desk import Desk
from tests.integration.floor import queue_caller
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, first_play, prompt

pytestmark = pytest.mark.pbx

NOTICE = "供暖季已开始，反映暖气不热请按一，坐席将为您登记。"


async def test_a_plan_changes_announcement_flow_lines_and_pinned_articles_at_once_and_its_end_restores_them(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    acd, flows, notices, plans = app[ACD], app[FLOWS], app[ANNOUNCEMENTS], app[PLANS]
    settings = app[SETTINGS]
    # The admin's variant of the flow (a longer welcome), published and then set aside.
    before_version = flows.current(MAIN_FLOW).version
    shipped = (SHIPPED_FLOWS / f"{MAIN_FLOW}.yaml").read_text(encoding="utf-8")
    await flows.save_draft(MAIN_FLOW, shipped.replace("您好，12345。", "您好，12345，供暖期间请耐心等待。"), "admin")
    variant = await flows.publish(MAIN_FLOW, "admin")
    await flows.rollback(MAIN_FLOW, before_version, "admin")
    plans.plans["test-heat"] = Plan(
        code="test-heat",
        name="测试供暖预案",
        note="暖气类诉求按属地派单",
        announcement=NOTICE,
        flow_version=variant,
        lines=3,
        standby="on",
        overflow=True,
        pinned=["供暖问题受理要点"],
    )
    lines_before = acd.lines.target
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD, "plan-lead")
    await ami.action("Setvar", Variable="SIM_PSTN_HEARD", Value="1")
    try:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, "plan-lead", lead.password, "/lead/seatmap")
            await page.wait_for_selector("#planPick option[value='test-heat']", state="attached")
            box = await page.locator("#planStart").bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900  # the switch is above the fold
            await page.select_option("#planPick", "test-heat")
            page.once("dialog", lambda d: asyncio.ensure_future(d.accept("供暖开始，来电激增")))
            await page.click("#planStart")
            await page.wait_for_selector("#planOn:has-text('执行中：测试供暖预案')")
            await page.wait_for_selector("#feedback .ok:has-text('已启动')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-plan.png"))
            # Everything at once.
            assert (notices.active, notices.text) == (True, NOTICE)
            assert flows.current(MAIN_FLOW).version == variant
            assert acd.lines.target == 3 and acd.lines.standby_manual is True and acd.acd.overflow.enabled
            await app[DIALPLAN].sync()  # the flow in the PBX's dialplan follows within moments
            # Every desk shows the plan's pinned article.
            agent = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await agent.goto(str(controller.make_url("/desk")))
            await sign_in(agent, desk.username, desk.api.password, "/desk")
            await agent.wait_for_selector("#pinned:has-text('供暖问题受理要点')", timeout=20000)
            await agent.screenshot(path=str(SHOTS / "desk-pinned.png"))
            # A caller hears the plan's announcement, then the variant's menu.
            caller = "13577700001"
            await call_in(ami, caller, listen="plan-notice")
            inner = await recorder.wait_for(
                ev.NewCallerid, lambda e: e.caller_id_num == caller and e.channel.endswith(";2"), timeout=20
            )
            began = await recorder.wait_for(
                ev.Newexten,
                lambda e: e.context == "sim-listener" and e.application == "MixMonitor" and e.caller_id_num == caller,
                timeout=20,
            )
            notice = notices.current_file()
            assert notice
            said = await eventually(lambda: first_play(recorder, inner.channel, notice), timeout=30)
            menu = await eventually(lambda: first_play(recorder, inner.channel, prompt(app, "day_menu")), timeout=30)
            await ami.action("Hangup", Channel=inner.channel)
            heard = settings.recordings_dir / "sim-heard-plan-notice.wav"
            await eventually(lambda: heard.is_file() and heard.stat().st_size > 44, timeout=15)
            loud = rms_between(heard, began, said, menu)
            assert loud > 0.01, loud
            # The lead changes the line count while the plan runs: that is the lead's to keep.
            status, _ = await lead.request("PUT", "/api/acd/lines", json={"count": 5})
            assert status == 200
            page.once("dialog", lambda d: asyncio.ensure_future(d.accept("暖气恢复")))
            await page.click("#planEnd")
            await page.wait_for_selector("#feedback .ok:has-text('保留您期间的调整：线路数')")
            await page.wait_for_selector("#planStart:not([hidden])")
            await agent.wait_for_selector("#pinned", state="hidden", timeout=20000)
        # Everything back as it was, but the lead's own line count.
        assert (notices.active, notices.text) == (False, "")
        assert flows.current(MAIN_FLOW).version == before_version
        assert acd.lines.standby_manual is None and not acd.acd.overflow.enabled
        assert acd.lines.target == 5 != lines_before
        await app[DIALPLAN].sync()
        off = "13577700002"
        await call_in(ami, off)
        leg = await recorder.wait_for(
            ev.NewCallerid, lambda e: e.caller_id_num == off and e.channel.endswith(";2"), timeout=20
        )
        await eventually(lambda: first_play(recorder, leg.channel, prompt(app, "day_menu")), timeout=30)
        assert first_play(recorder, leg.channel, notice) is None
        await ami.action("Hangup", Channel=leg.channel)
        # Who started and ended it, and why, is kept and on the lead's log.
        _, listed = await lead.request("GET", "/api/plans")
        run = listed["runs"][0]
        assert (run["code"], run["started_by"], run["reason"]) == ("test-heat", "plan-lead", "供暖开始，来电激增")
        assert (run["ended_by"], run["end_reason"]) == ("plan-lead", "暖气恢复")
        kinds = [c.kind for c in acd.changes]
        assert "plan-start" in kinds and "plan-end" in kinds
        # Counted in the standards report (and the briefings, which read it).
        _, report = await lead.request("GET", "/api/reports/standards?day=2026-11-25")
        assert [(p["name"], p["reason"]) for p in report["plans"]] == [("测试供暖预案", "供暖开始，来电激增")]
    finally:
        await ami.action("Setvar", Variable="SIM_PSTN_HEARD", Value="")
        await desk.close()
        await lead.close()


async def test_a_plan_with_a_trigger_starts_itself_when_callers_pile_up(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    acd, plans = app[ACD], app[PLANS]
    plans.plans = {
        "pile": Plan(code="pile", name="排队积压", standby="on", trigger=PlanTrigger(waiting_over=2, for_minutes=3))
    }
    callers = [await queue_caller(ami) for _ in range(3)]  # nobody is logged in: they wait
    for c in callers:
        await recorder.wait_for(ev.QueueCallerJoin, lambda e, c=c: e.caller_id_num == c, timeout=20)
    await eventually(lambda: len(acd.waiting) == 3, timeout=10)
    await plans.tick()  # the pressure's clock starts
    assert plans.run is None
    acd.clock.now += dt.timedelta(minutes=3, seconds=1)
    await eventually(lambda: plans.run is not None, timeout=15)  # the next check starts it
    assert plans.run.started_by == "系统" and "排队超过 2 人已持续 3 分钟" in plans.run.reason
    assert acd.lines.standby_manual is True
    await plans.end("lead", "")
    assert acd.lines.standby_manual is None
    await ami.action("Hangup", Channel="/^Local.s@hotline-fallback-/")


async def test_a_hot_topic_suggests_a_plan_and_the_lead_confirms_it(controller: TestServer) -> None:
    app = controller.app
    plans = app[PLANS]
    now = app[ACD].clock.now
    heat = ("小区暖气不热，室温只有十五度", "家里暖气不热，老人孩子受冻", "整栋楼暖气不热已经三天")
    usual = ("楼下饭店油烟很大", "路口红绿灯坏了", "公交车不按时发车", "小区电梯坏了没人修", "公司拖欠工资")
    async with app[SESSIONS]() as db, db.begin():
        for i in range(30):  # the weeks before: the usual mix, no heating
            at = now - dt.timedelta(days=2 + i % 25, hours=i % 7)
            db.add(_ticket(f"U{i:04d}", at, usual[i % len(usual)]))
        for i in range(8):  # the last hours: heating complaints pile up
            db.add(_ticket(f"H{i:04d}", now - dt.timedelta(minutes=20 + 10 * i), heat[i % len(heat)]))
    found = await plans.check_topics()
    assert [f["code"] for f in found] == ["heating"] and "暖气" in found[0]["term"] and found[0]["count"] >= 8
    assert plans.run is None  # a suggestion, never started by itself
    lead = await Api(controller).login_as(Role.LEAD, "topic-lead")
    try:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, "topic-lead", lead.password, "/lead/seatmap")
            await page.wait_for_selector("#planSuggest:has-text('建议：热点')")
            await page.screenshot(path=str(SHOTS / "seatmap-plan-suggested.png"))
            page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
            await page.click("#planSuggest button:has-text('启动「供暖季开始」')")
            await page.wait_for_selector("#planOn:has-text('执行中：供暖季开始')")
            await page.wait_for_selector("#planSuggest .suggest", state="detached")
        assert plans.run is not None and plans.run.reason.startswith("热点：")
        await plans.end("topic-lead", "")
    finally:
        await lead.close()


def _ticket(number: str, at: dt.datetime, content: str) -> Ticket:
    return Ticket(
        number=number,
        created_at=at,
        updated_at=at,
        channel="phone",
        caller="13912345678",
        category="urban-property",
        district="西城区",
        address="滨河小区",
        content=content,
        status="closed",
        handling="answered",
        department="",
    )
