"""Answered calls become tickets, against the real PBX: hand-off, screen pop,
recording, survey, call controls, and the workflow through the HTTP API."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from hotline import accounts
from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.credentials import ensure_secrets
from hotline.db.models import User
from hotline.roles import Role
from hotline.tickets.api import HANDOFF, STORE
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import Clock
from tests.integration.desk import Desk
from tests.integration.floor import channel_gone, has_channel, members, queue_caller
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, IvrCaller, prompt

pytestmark = pytest.mark.pbx

_users = itertools.count(1)
# An address no community owns: the ticket goes to its category's department.
FORM = {"category": "env-noise", "district": "东城区", "address": "长江路1号", "content": "楼下酒吧夜间噪音"}


async def department_api(server: TestServer, dept: str) -> Api:
    api = Api(server)
    username = f"dept{next(_users)}"
    async with server.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, username, username, [Role.DEPARTMENT], department=dept)
    async with api.http.post(server.make_url("/api/login"), json={"username": username, "password": password}) as r:
        assert r.status == 200
    return api


async def test_answered_call_becomes_a_ticket_with_pop_recording_and_survey(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    settings = controller.app[SETTINGS]
    mine = await Desk(controller, "seat01").start()
    other = await Desk(controller, "seat02").start(ready=False)
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        await ami.action("Setvar", Variable="SIM_TALK", Value="4")
        caller = await IvrCaller(ami, recorder).dial()
        await caller.wait_prompt(prompt(controller.app, "day_menu"), timeout=30)
        await caller.press("1")  # 咨询、投诉、求助
        pop = await mine.pop()
        ticket = pop["ticket"]
        assert ticket["caller"] == caller.caller and ticket["status"] == "accepted"
        assert [step.get("node") for step in ticket["ivr_path"]][:1] == ["welcome"]
        assert any(step.get("key") == "1" for step in ticket["ivr_path"]), ticket["ivr_path"]
        assert not pop["repeat"] and pop["seat"] == "seat01"
        assert other.pops() == []  # the screen pop reaches that agent only

        status, full = await lead.request("GET", f"/api/tickets/{ticket['number']}")
        assert status == 200 and [c["call_id"] for c in full["calls"]] == [ticket["call_id"]]
        recording = settings.recordings_dir / f"{ticket['call_id']}.wav"
        await eventually(lambda: recording.is_file(), timeout=10)

        # The seat hangs up after SIM_TALK; the caller stays for the survey.
        await recorder.wait_for(ev.AgentComplete, lambda e: e.interface == "Local/seat01@sim-seat/n", timeout=20)
        await eventually(lambda: any(f["type"] == "call-ended" for f in mine.frames))
        assert controller.app[ACD].floor.seats["seat01"].wrapup_until is not None  # after-call work
        # The survey question starts (Read, in the after-seat context): then the key.
        await recorder.wait_for(
            ev.Newexten, lambda e: e.context == "hotline-after-seat" and e.application == "Read", timeout=20
        )
        await caller.press("2")

        async def rated() -> bool:
            _, t = await lead.request("GET", f"/api/tickets/{ticket['number']}")
            return t["satisfaction"] == 2 and t["satisfaction_source"] == "survey"

        assert await eventually(rated, timeout=20)

        # Recordings: the agent hears their own call, with range requests; another agent may not.
        await eventually(lambda: recording.stat().st_size > 1000)
        async with mine.api.http.get(controller.make_url(f"/api/recordings/{ticket['call_id']}")) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "audio/wav"
            assert len(await resp.read()) == recording.stat().st_size
        async with mine.api.http.get(
            controller.make_url(f"/api/recordings/{ticket['call_id']}"), headers={"Range": "bytes=0-43"}
        ) as resp:
            assert resp.status == 206 and (await resp.read())[:4] == b"RIFF"
        status, body = await other.call("GET", f"/api/recordings/{ticket['call_id']}")
        assert status == 403 and body["error_id"] == "recording-forbidden"

        # Submitting the ticket ends after-call work.
        status, done = await mine.call(
            "POST", f"/api/tickets/{ticket['number']}/submit", json={**FORM, "handling": "dispatched"}
        )
        assert status == 200 and done["status"] == "dispatched" and done["department"] == "sthj"
        await eventually(lambda: controller.app[ACD].floor.seats["seat01"].wrapup_until is None, timeout=3)
    finally:
        await mine.close()
        await other.close()
        await lead.close()


async def test_an_agent_who_hangs_up_has_after_call_work_while_the_caller_rates_and_the_next_waits(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """app_queue says AgentComplete only when the caller is done with the
    survey too: the seat's call ends when its own leg hangs up."""
    settings, acd = controller.app[SETTINGS], controller.app[ACD]
    desk = await Desk(controller, "seat01").start()
    try:
        await queue_caller(ami, "13800001111")
        first = await desk.pop()
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13800001111", timeout=5)
        await queue_caller(ami, "13800002222")  # waits: the only seat is busy
        await asyncio.sleep(3)  # three seconds of conversation
        status, _ = await desk.call("POST", "/api/desk/call/hangup")
        assert status == 200
        seat = acd.floor.seats["seat01"]
        await eventually(lambda: acd.floor.seats["seat01"].status().value == "wrapup", timeout=3)
        await eventually(lambda: any(f["type"] == "call-ended" for f in desk.frames), timeout=3)
        await eventually(lambda: _member_paused(ami, "Local/seat01@sim-seat/n"), timeout=5)
        # The first caller is in the survey; no AgentComplete yet, and the next caller is not offered.
        await eventually(lambda: has_channel(ami, connect.channel, "Read"), timeout=10)
        assert not [e for e in recorder.events if isinstance(e, ev.AgentComplete)]
        assert len([f for f in desk.frames if f["type"] == "pop"]) == 1
        # The recording is the conversation only: closed at the hang-up, the survey left out.
        agent_leg = settings.recordings_dir / f"{first['call_id']}-agent.wav"
        await eventually(lambda: _wav_seconds(agent_leg) > 0, timeout=5)
        assert 2.0 <= _wav_seconds(agent_leg) <= 5.0, _wav_seconds(agent_leg)

        # The ticket submitted ends after-call work: the next caller is answered.
        status, body = await desk.call(
            "POST", f"/api/tickets/{first['ticket']['number']}/submit", json={**FORM, "handling": "dispatched"}
        )
        assert status == 200, body
        await eventually(lambda: len([f for f in desk.frames if f["type"] == "ticket"]) == 2, timeout=20)
        second = [f for f in desk.frames if f["type"] == "pop"][-1]
        assert second["caller"] == "13800002222"
        # The first caller leaves the survey: the late AgentComplete changes nothing for the seat.
        await ami.action("Hangup", Channel=connect.channel)
        # (It no longer names the seat's leg, and at times not even the caller.)
        await recorder.wait_for(ev.AgentComplete, lambda e: e.interface == connect.interface, timeout=10)
        await asyncio.sleep(0.5)  # the controller's handlers have run
        assert acd.floor.seats["seat01"].status().value == "talking"
        assert controller.app[HANDOFF].active["seat01"].caller == "13800002222"
        ended = [f for f in desk.frames if f["type"] == "call-ended"]
        assert len(ended) == 1 and ended[0]["ticket"] == first["ticket"]["number"], ended
        assert seat.agent == acd.floor.seats["seat01"].agent
    finally:
        await desk.close()


def _wav_seconds(path) -> float:  # type: ignore[no-untyped-def]
    import wave

    try:
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    except (OSError, EOFError, wave.Error):
        return 0.0


async def _member_paused(ami: AMIClient, interface: str) -> bool:
    m = (await members(ami)).get(interface)
    return m is not None and m.paused


async def test_hold_three_way_and_blind_transfer_to_110(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    desk = await Desk(controller, "seat01").start()
    try:
        await queue_caller(ami, "13912345678")
        await desk.pop()
        assert (await desk.call("POST", "/api/desk/call/transfer", json={"number": "999"}))[0] == 400

        status, body = await desk.call("POST", "/api/desk/call/hold")
        assert status == 200 and body["held"], body
        await eventually(lambda: has_channel(ami, "Local/hold-seat01@hotline-hold", "ChanSpy"))
        status, body = await desk.call("POST", "/api/desk/call/unhold")
        assert status == 200 and not body["held"]
        await eventually(lambda: channel_gone(ami, "Local/hold-seat01@hotline-hold"))

        status, _ = await desk.call("POST", "/api/desk/call/conference", json={"number": "12348"})
        assert status == 200
        await eventually(lambda: has_channel(ami, "Local/12348@hotline-outside", "ChanSpy"))
        await eventually(lambda: has_channel(ami, "Local/12348@sim-pstn", ""))

        status, body = await desk.call("POST", "/api/desk/call/transfer", json={"number": "110"})
        assert status == 200
        await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith("Local/110@sim-pstn"))
        await recorder.wait_for(ev.AgentComplete, lambda e: e.interface == "Local/seat01@sim-seat/n")
        _, full = await desk.call("GET", f"/api/tickets/{body['ticket']}")
        assert [h["action"] for h in full["history"]] == ["accept", "conference", "transfer"]
        assert "110" in full["history"][-1]["note"]
        assert (await desk.call("POST", "/api/desk/call/hold"))[1]["error_id"] == "desk-not-in-call"
    finally:
        await desk.close()


async def test_an_attended_transfer_consults_the_target_and_the_agents_hang_up_completes_it(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    desk = await Desk(controller, "seat01").start()
    try:
        await queue_caller(ami, "13912340001")
        await desk.pop()
        talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13912340001")
        # Consult first: the agent talks to the department, the caller waits.
        status, body = await desk.call("POST", "/api/desk/call/attended", json={"number": "12348"})
        assert status == 200, body
        await eventually(lambda: has_channel(ami, "Local/12348@sim-pstn", ""), timeout=15)
        # Then back to the caller (cancel), and once more to complete it.
        mark = len(recorder.events)
        status, _ = await desk.call("POST", "/api/desk/call/cancel-attended")
        assert status == 200
        await eventually(lambda: channel_gone(ami, "Local/12348@sim-pstn"), timeout=15)
        await recorder.wait_for(  # the agent is back with the caller
            ev.NewConnectedLine,
            lambda e: e.channel == talk.dest_channel and recorder.events.index(e) >= mark,
            timeout=15,
        )
        assert (await desk.call("POST", "/api/desk/call/attended", json={"number": "12348"}))[0] == 200
        await eventually(lambda: has_channel(ami, "Local/12348@sim-pstn", ""), timeout=15)
        status, _ = await desk.call("POST", "/api/desk/call/hangup")  # the agent leaves: transfer done
        assert status == 200
        done = await recorder.wait_for(
            ev.UnknownEvent, lambda e: e.name == "AttendedTransfer" and e.raw.get("Result") == "Success", timeout=15
        )
        assert done.raw.get("OrigTransfererChannel", "").startswith("Local/seat01@sim-seat")
        # The caller stays, now with the department's line.
        await asyncio.sleep(1)
        assert await has_channel(ami, talk.channel, "") and await has_channel(ami, "Local/12348@sim-pstn", "")
        await eventually(lambda: controller.app[ACD].floor.seats["seat01"].status().value == "wrapup", timeout=10)
        _, full = await desk.call("GET", f"/api/tickets/{body['ticket']}")
        assert [h["action"] for h in full["history"]].count("attended") == 2
    finally:
        await desk.close()


async def test_workflow_end_to_end_through_the_api(controller: TestServer, ami: AMIClient) -> None:
    desk = await Desk(controller, "seat01").start()
    dept = await department_api(controller, "zjw")
    wrong = await department_api(controller, "rsj")
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        await queue_caller(ami, "13700000001")
        number = (await desk.pop())["ticket"]["number"]
        # A draft survives a reload of the desk.
        status, _ = await desk.call("PUT", f"/api/tickets/{number}/draft", json={"content": "物业不作为"})
        assert status == 200
        _, current = await desk.call("GET", "/api/desk/current")
        assert current["open"]["ticket"]["number"] == number and current["open"]["draft"]["content"] == "物业不作为"
        status, body = await desk.call(
            "POST",
            f"/api/tickets/{number}/submit",
            json={**FORM, "category": "urban-property", "handling": "dispatched"},
        )
        assert status == 200 and body["department"] == "zjw"
        # Another department's ticket answers exactly as a number that does not exist.
        status, body = await wrong.request("POST", f"/api/tickets/{number}/feedback", json={"note": "x"})
        assert status == 404 and body["error_id"] == "ticket-not-found"
        missing = await wrong.request("POST", "/api/tickets/20991231999999/feedback", json={"note": "x"})
        assert (status, body["message"].replace(number, "N")) == (
            missing[0],
            missing[1]["message"].replace("20991231999999", "N"),
        )
        status, body = await wrong.request("POST", f"/api/tickets/{number}/revisit", json={"satisfied": True})
        assert status == 404
        _, listed = await dept.request("GET", "/api/tickets")
        assert [t["number"] for t in listed["tickets"]] == [number]
        status, body = await dept.request("POST", f"/api/tickets/{number}/feedback", json={"note": "已督促物业整改"})
        assert status == 200 and body["status"] == "feedback"
        status, body = await dept.request("POST", f"/api/tickets/{number}/revisit", json={"satisfied": True})
        assert status == 403 and body["error_id"] == "ticket-role-refused"
        status, body = await desk.call(
            "POST", f"/api/tickets/{number}/revisit", json={"satisfied": True, "satisfaction": 2, "note": "市民满意"}
        )
        assert status == 200 and body["status"] == "closed"
        status, body = await desk.call("POST", f"/api/tickets/{number}/revisit", json={"satisfied": True})
        assert status == 409 and body["error_id"] == "ticket-transition-refused"
        assert (await lead.request("GET", "/api/tickets/ledger"))[1] == {"overdue": []}
        _, metrics = await lead.request("GET", "/metrics")
        assert 'hotline_tickets{status="closed"} 1.0' in metrics
        assert 'hotline_screen_pop_seconds{quantile="0.99"}' in metrics
        assert (await desk.call("GET", "/api/tickets/ledger"))[0] == 403
        status, body = await desk.call("POST", f"/api/tickets/{number}/submit", data="not json")
        assert status == 400
        _, kb = await desk.call("GET", "/api/kb", params={"q": "物业"})
        assert kb["articles"] == []  # no article on property management: nothing, not a near miss
        _, kb = await desk.call("GET", "/api/kb", params={"q": "施工噪音"})
        assert kb["articles"][0]["title"] == "夜间施工噪音扰民"
    finally:
        for api in (dept, wrong, lead):
            await api.close()
        await desk.close()


async def test_gateways_create_tickets_with_their_own_token(controller: TestServer) -> None:
    tokens = ensure_secrets(controller.app[SETTINGS])["gateway_tokens"]
    async with aiohttp.ClientSession() as http:
        url = controller.make_url("/api/channels/tickets")
        async with http.post(url, json=FORM) as resp:
            assert resp.status == 401
        async with http.post(url, json=FORM, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
        async with http.post(
            url, json={**FORM, "caller": "13600000000"}, headers={"Authorization": f"Bearer {tokens['wechat']}"}
        ) as resp:
            assert resp.status == 201
            ticket = await resp.json()
        assert (ticket["channel"], ticket["status"]) == ("wechat", "accepted")
        async with http.post(url, json={"content": ""}, headers={"Authorization": f"Bearer {tokens['sms']}"}) as r:
            assert r.status == 400 and (await r.json())["error_id"] == "bad-request"
        async with http.get(
            controller.make_url("/api/tickets"), headers={"Authorization": f"Bearer {tokens['sms']}"}
        ) as resp:
            assert resp.status == 403  # a gateway creates; it does not read others' tickets


async def test_the_desk_in_chromium_pops_fills_and_submits(controller: TestServer, ami: AMIClient) -> None:
    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "desk-li", "李坐席", [Role.AGENT])
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        await page.goto(base + "desk")
        await sign_in(page, "desk-li", password, "/desk")
        await page.wait_for_selector("#conn:has-text('已连接')")
        await page.select_option("#seatInput", "seat01")
        await page.click("#seatLogin")
        # Logged in, not offered calls until the agent says so (and the keyboard can say it).
        await page.wait_for_selector("#seatState.paused:has-text('未就绪')")
        await page.keyboard.press("Alt+r")
        await page.wait_for_selector("#seatState.ready")

        await queue_caller(ami, "13811112222")
        await page.wait_for_selector("#caller:has-text('13811112222')", timeout=20000)
        # A selector, not a JS predicate: the desk's CSP forbids the eval Playwright polls one with.
        await page.wait_for_selector("#number:has-text('2026')")
        number = await page.locator("#number").inner_text()
        assert number.startswith("2026") and await page.locator("#callState").inner_text() == "通话中"

        await page.select_option("#category", "labour-wages")
        await page.select_option("#district", "西城区")
        await page.fill("#content", "公司拖欠三个月工资")
        await page.wait_for_selector("#draftState:has-text('草稿已保存')")
        # Closing the browser loses nothing: a new page shows the draft again.
        again = await context.new_page()
        await again.goto(base + "desk")  # the session cookie is shared in this context
        await again.wait_for_selector("#draftState:has-text('已恢复草稿')")
        assert await again.locator("#content").input_value() == "公司拖欠三个月工资"
        await again.close()

        await page.fill("#kbQuery", "拖欠工资")
        await page.wait_for_selector("#kb h3:has-text('拖欠工资如何投诉')")
        await page.check("input[name=handling][value=dispatched]")
        assert await page.locator("#department").input_value() == "rsj"  # the category's department
        await page.click("#btnSubmit")
        await page.wait_for_selector("#msg.ok:has-text('已派单')")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "desk.png"), full_page=True)
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        _, t = await lead.request("GET", f"/api/tickets/{number}")
        assert (t["status"], t["department"], t["district"], t["content"]) == (
            "dispatched",
            "rsj",
            "西城区",
            "公司拖欠三个月工资",
        )
    finally:
        await lead.close()


async def test_automated_revisit_call_closes_the_ticket_on_key_1(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    desk = await Desk(controller, "seat01").start()
    dept = await department_api(controller, "sthj")
    try:
        await queue_caller(ami, "13655556666")
        number = (await desk.pop())["ticket"]["number"]
        await desk.call("POST", f"/api/tickets/{number}/submit", json={**FORM, "handling": "dispatched"})
        status, body = await desk.call("POST", f"/api/tickets/{number}/revisit-call")
        assert status == 409  # nothing to revisit before the department answers
        await dept.request("POST", f"/api/tickets/{number}/feedback", json={"note": "已约谈酒吧经营者"})
        status, _ = await desk.call("POST", f"/api/tickets/{number}/revisit-call")
        assert status == 200
        # The citizen's phone (a simulated outside line) rings and answers; they press 1.
        citizen = await recorder.wait_for(
            ev.Newchannel,
            lambda e: e.channel.startswith("Local/13655556666@sim-pstn") and e.channel.endswith(";2"),
            timeout=10,
        )
        await eventually(lambda: has_channel(ami, "Local/13655556666@hotline-outside", "Read"), timeout=10)
        await ami.action("PlayDTMF", Channel=citizen.channel, Digit="1", Duration=120)

        async def closed() -> bool:
            return (await desk.call("GET", f"/api/tickets/{number}"))[1]["status"] == "closed"

        assert await eventually(closed, timeout=15)
        _, full = await desk.call("GET", f"/api/tickets/{number}")
        assert full["history"][-1]["actor"] == "auto-revisit" and "满意" in full["history"][-1]["note"]
    finally:
        await dept.close()
        await desk.close()


async def test_department_feeds_back_on_the_tickets_page_and_the_lead_sees_the_ledger(
    controller: TestServer, clock: Clock
) -> None:
    store = controller.app[STORE]
    ticket = await store.create("web", "gateway:web", {**FORM, "caller": "13900001111"})
    lead_id = accounts.Identity(0, "lead-x", "值班长", frozenset({Role.LEAD}))
    await store.act(ticket.number, "dispatch", lead_id, {"department": "sthj"})
    async with controller.app[SESSIONS]() as db, db.begin():
        _, dept_pw = await accounts.create_user(db, "sthj-wang", "王科长", [Role.DEPARTMENT], department="sthj")
        _, lead_pw = await accounts.create_user(db, "lead-zhao", "赵值班长", [Role.LEAD])
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        dept = await (await browser.new_context()).new_page()
        await dept.goto(base + "tickets")
        await dept.fill("#u", "sthj-wang")
        await dept.fill("#p", dept_pw)
        await dept.click("button[type=submit]")
        await dept.wait_for_selector(f"tr.row[data-n='{ticket.number}']")
        await dept.click(f"tr.row[data-n='{ticket.number}']")
        await dept.wait_for_selector("#deptBox:not(.hidden)")
        await dept.click("#btnReturn")  # no reason written: nothing happens but the request for one
        await dept.wait_for_selector("#msg:has-text('退单须写明理由')")
        await dept.fill("#deptNote", "已现场检查并责令整改")
        asked: list[str] = []
        dept.once("dialog", lambda d: (asked.append(d.message), d.accept())[1])
        await dept.click("#btnFeedback")
        await dept.wait_for_selector("#dStatus:has-text('已反馈')")
        assert "作为办理结果反馈" in asked[0]
        assert "已现场检查并责令整改" in await dept.locator("#history").inner_text()

        clock.now += dt.timedelta(days=3)  # nobody revisited in time
        lead = await (await browser.new_context()).new_page()
        await lead.goto(base + "tickets")
        await lead.fill("#u", "lead-zhao")
        await lead.fill("#p", lead_pw)
        await lead.click("button[type=submit]")
        await lead.click("#ledgerBtn")
        await lead.wait_for_selector(f"tr.row[data-n='{ticket.number}'] td.late:has-text('回访超时')")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await lead.screenshot(path=str(SHOTS / "ledger.png"), full_page=True)


async def test_the_lead_sees_unsubmitted_tickets_per_agent_and_chases_them(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    """Before: an answered call whose form was left empty was a blank 已受理
    row among all the others; nothing told the lead, nothing told the agent."""
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD, "lead-sun")
    try:
        await queue_caller(ami, "13912340077")
        number = (await desk.pop())["ticket"]["number"]
        _, listed = await lead.request("GET", "/api/tickets/unsubmitted")
        [mine] = [t for t in listed["tickets"] if t["number"] == number]
        assert mine["in_call"] is True and mine["caller"] == "139****0077"  # being taken: not chased
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13912340077")
        await ami.action("Hangup", Channel=connect.channel)
        await eventually(lambda: controller.app[ACD].floor.seats["seat01"].status().value == "wrapup")
        clock.now += dt.timedelta(minutes=12)  # the form was never submitted
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/tickets")))
            await sign_in(page, lead.username, lead.password, "/tickets")
            row = page.locator(f"#unsubmitted li[data-n='{number}']")
            await row.wait_for()
            text = await page.locator(f"#unsubmitted .agent[data-agent='{desk.username}']").inner_text()
            assert "1 张未提交" in text and "最早 12 分钟前" in text and "未填写" in text, text
            assert await row.get_attribute("class") == "late"
            await page.click(f"button[data-chase='{number}']")
            await page.wait_for_selector(f"#msg:has-text('已提醒 {desk.username}（工作台已收到）')")
            await page.wait_for_selector(f"#unsubmitted li[data-n='{number}']:has-text('已催办 1 次')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "tickets-unsubmitted.png"))
        frame = await eventually(lambda: [f for f in desk.frames if f["type"] == "chase"], timeout=10)
        assert frame[0]["ticket"] == number and "尚未提交" in frame[0]["text"]
        _, ticket = await lead.request("GET", f"/api/tickets/{number}")
        assert [h["action_text"] for h in ticket["history"]][-1] == "催办"
        # Submitted, it leaves the list; chasing it now is refused.
        status, _ = await desk.call(
            "POST", f"/api/tickets/{number}/submit", json={**FORM, "handling": "answered", "answer": "已解答"}
        )
        assert status == 200
        _, listed = await lead.request("GET", "/api/tickets/unsubmitted")
        assert number not in [t["number"] for t in listed["tickets"]]
        assert (await lead.request("POST", f"/api/tickets/{number}/chase"))[0] == 409
        assert (await desk.call("GET", "/api/tickets/unsubmitted"))[0] == 403  # the lead's list
    finally:
        await desk.close()
        await lead.close()


async def test_a_department_reads_a_call_ticket_without_a_player_it_may_not_use(
    controller: TestServer, ami: AMIClient
) -> None:
    """Before: the department saw a recording player that answered 403, and
    the taking agent as a login name; every page asked for a missing favicon."""
    desk = await Desk(controller, "seat01").start()
    try:
        await queue_caller(ami, "13912340088")
        number = (await desk.pop())["ticket"]["number"]
        status, _ = await desk.call(
            "POST", f"/api/tickets/{number}/submit", json={**FORM, "handling": "dispatched", "department": "sthj"}
        )
        assert status == 200
        async with controller.app[SESSIONS]() as db, db.begin():
            _, pw = await accounts.create_user(db, "sthj-zhou", "周科长", [Role.DEPARTMENT], department="sthj")
            await db.execute(update(User).where(User.username == desk.username).values(display_name="坐席小李"))
        _, mine = await desk.call("GET", f"/api/tickets/{number}")
        assert mine["calls"][0]["recording"] == f"/api/recordings/{mine['calls'][0]['call_id']}"  # the agent's own
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/tickets")))
            await sign_in(page, "sthj-zhou", pw, "/tickets")
            await page.click(f"tr.row[data-n='{number}']")
            await page.wait_for_selector("#recordings:has-text('录音仅值班长、管理员和接听坐席可听')")
            assert await page.locator("#recordings audio").count() == 0
            assert "坐席小李 seat01" in await page.locator("#fields").inner_text()  # the person, not the login
            await page.screenshot(path=str(SHOTS / "tickets-department.png"))
        async with aiohttp.ClientSession() as http:
            async with http.get(controller.make_url("/favicon.ico")) as r:
                assert r.status == 200 and r.content_type == "image/svg+xml"
    finally:
        await desk.close()
