"""Lawyer seats against the real PBX: in lawyer hours key 3 reaches a
logged-in lawyer through the lawyers' own app_queue queue, never a general
agent, and general calls never reach a lawyer; with no lawyer logged in, or
out of hours, the caller leaves a message that becomes a lawyer's work item
for the next rota day. Lawyers' figures are their own."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.db.models import WorkItem
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import SHANGHAI, Clock
from tests.integration.desk import Desk
from tests.integration.floor import acd, members
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, set_clock
from tests.integration.test_ivr import SATURDAY, choose
from tests.integration.test_work import close_all, offer_to, offered, two_rounds_with

pytestmark = pytest.mark.pbx

LAWYER_QUEUE = "hotline-lawyer"


async def lawyer_members(ami: AMIClient) -> set[str]:
    status = await ami.list_action("QueueStatus", Queue=LAWYER_QUEUE)
    return {e.interface for e in status.events if isinstance(e, ev.QueueMember)}


async def leave_message(controller: TestServer, ami: AMIClient, recorder: Recorder) -> str:
    caller = await choose(controller, ami, recorder, "3", speak=True)
    await caller.rec.wait_for(
        ev.AGIExecStart, lambda e: e.channel == caller.inner and e.command.startswith("RECORD FILE"), timeout=40
    )
    await asyncio.sleep(1.5)  # the caller speaks
    await caller.press("#")
    await caller.hung_up()
    return caller.caller


async def legal_items(controller: TestServer) -> list[WorkItem]:
    async with controller.app[SESSIONS]() as db:
        return list((await db.scalars(select(WorkItem).where(WorkItem.kind == "legal"))).all())


async def test_in_lawyer_hours_key_3_reaches_a_lawyer_and_never_a_general_agent(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    await acd(controller).set_lines(2, "lead")
    general = [await Desk(controller, "seat01").start(), await Desk(controller, "seat02").start()]
    lawyer = await Desk(controller, "seat03", Role.LAWYER).start()
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        # Asterisk's two queues: the lawyer is a member of the lawyers' only.
        await eventually(lambda: _is(lawyer_members(ami), {"Local/seat03@sim-seat/n"}))
        hotline_members = set(await members(ami))
        assert "Local/seat03@sim-seat/n" not in hotline_members
        assert {"Local/seat01@sim-seat/n", "Local/seat02@sim-seat/n"} <= hotline_members
        seat = acd(controller).floor.seats["seat03"]
        assert seat.lawyer and seat.on_line and acd(controller).staffed("hotline-lawyer")
        # The lead's 在岗线路 counts the two phone lines, not the lawyer's seat.
        assert acd(controller).header_view().lines.staffed == 2
        # Key 3 in lawyer hours (a weekday morning): the lawyer answers.
        caller = await choose(controller, ami, recorder, "3")
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller.caller, timeout=30)
        assert (connect.queue, connect.interface) == (LAWYER_QUEUE, "Local/seat03@sim-seat/n")
        pop = await lawyer.pop()
        assert pop["ticket"]["caller"] == caller.caller and pop["ticket"]["category"] == "legal"
        assert general[0].pops() == [] and general[1].pops() == []
        # A general call with both general agents busy still waits for them, not the lawyer.
        for d in general:
            await d.call("POST", "/api/agent/pause", json={"reason": "meeting"})
        await lawyer.call("POST", "/api/agent/wrapup/end")
        other = await choose(controller, ami, recorder, "1")
        await other.queued(timeout=30)
        # The lawyer is no member of the hotline's queue, and its two members are paused...
        hotline = {i: m.paused for i, m in (await members(ami)).items()}
        assert hotline == {"Local/seat01@sim-seat/n": True, "Local/seat02@sim-seat/n": True}
        # ...so a ring cycle (acd.ring_seconds 3) later, nobody was rung for the caller.
        await asyncio.sleep(4)
        assert not recorder.of(ev.AgentCalled, lambda e: e.caller_id_num == other.caller)
        await general[0].call("POST", "/api/agent/ready")
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == other.caller, timeout=30)
        assert connect.queue == "hotline" and connect.interface == "Local/seat01@sim-seat/n"
        # The lawyers' figures are their own; the hotline's count only its queue.
        await acd(controller).drain()
        _, figures = await lead.request("GET", "/api/acd/figures")
        assert (figures["lawyers"]["offered"], figures["lawyers"]["answered"]) == (1, 1)
        assert figures["total"]["offered"] == 1 and figures["lawyers"]["logged_in"] == 1
        # The lawyer's desk classifies with the legal tree (its page knows the root).
        _, meta = await lawyer.call("GET", "/api/tickets/meta")
        assert meta["legal_category"] == "legal"
        # The lead's seat map marks the lawyer's seat and shows their figures apart.
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1300, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.wait_for_selector("#seat-seat03 small:has-text('律师坐席')")
            await page.wait_for_selector("#figures .kpi:has-text('律师坐席'):has-text('接通 1')")
            assert await page.locator("#seat-seat01 small:has-text('律师坐席')").count() == 0
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-lawyers.png"), full_page=True)
    finally:
        await close_all(*general, lawyer, lead)


async def _is(got: object, want: set[str]) -> bool:
    return await got == want  # type: ignore[misc]


async def test_with_no_lawyer_logged_in_or_out_of_hours_the_message_becomes_a_lawyers_item_for_the_next_rota_day(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    general = await Desk(controller, "seat01").start()  # off the lines: free for work, not for lawyers' work
    await acd(controller).set_lines(0, "lead")
    try:
        # Lawyer hours, nobody logged in: a message, called back today (the window is open).
        assert not acd(controller).staffed("hotline-lawyer")
        first = await leave_message(controller, ami, recorder)
        items = await eventually(lambda: legal_items(controller), timeout=15)
        assert items[0].skill == "lawyer" and items[0].not_before <= clock.now.timestamp()
        assert items[0].due_at == dt.datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI).timestamp()
        # Saturday: offered from Monday 09:00, due by its end.
        await set_clock(controller, clock, SATURDAY)
        second = await leave_message(controller, ami, recorder)
        items = await eventually(lambda: _two(legal_items(controller)), timeout=15)
        monday = items[1]
        assert monday.not_before == dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI).timestamp()
        assert monday.due_at == dt.datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI).timestamp()
        # The general agent is free and is offered neither: the queue holds
        # both items and went round twice since.
        await two_rounds_with(controller, {items[0].id, items[1].id})
        assert offered(general) == []
        # A lawyer logs in: today's message is theirs; Monday's is not yet.
        clock.now = dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
        lawyer = await Desk(controller, "seat02", Role.LAWYER).start()
        try:
            item = await offer_to(lawyer, kind="legal")
            assert item["kind_text"] == "法律咨询留言" and item["id"] == items[0].id
            status, detail = await lawyer.call("POST", f"/api/work/{item['id']}/accept")
            assert status == 200 and detail["number"] == first and detail["voicemail"]["audio"]
            status, body = await lawyer.call("POST", f"/api/work/{item['id']}/call")
            assert status == 200 and body["calling"]
            await recorder.wait_for(
                ev.Newstate,
                lambda e: e.channel.startswith(f"Local/{first}@sim-pstn") and e.channel_state_desc == "Up",
                timeout=20,
            )
            status, result = await lawyer.call(
                "POST",
                f"/api/work/{item['id']}/result",
                json={
                    "outcome": "ticket",
                    "ticket": {
                        "category": "legal-labour",
                        "district": "东城区",
                        "content": "被拖欠三个月工资，咨询如何申请劳动仲裁",
                    },
                },
            )
            assert status == 200 and result["done"]
            # Monday's message waits for Monday, though the lawyer is free now.
            await two_rounds_with(controller, {items[1].id})
            assert all(i["id"] != items[1].id for i in offered(lawyer))
            # Monday morning: the other one is offered to the lawyer, never the general agent.
            clock.now = dt.datetime(2026, 11, 30, 9, 1, tzinfo=SHANGHAI)
            later = await offer_to(lawyer, kind="legal")
            assert later["id"] == items[1].id and offered(general) == []
            _, detail = await lawyer.call("GET", f"/api/work/{later['id']}")
            assert detail["number"] == second
        finally:
            await lawyer.close()
    finally:
        await general.close()


async def _two(got: object) -> list[WorkItem] | None:
    items = await got  # type: ignore[misc]
    return sorted(items, key=lambda i: i.id) if len(items) == 2 else None
