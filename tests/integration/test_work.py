"""Blended work against the real PBX: items offered to agents off the lines,
lapsed offers, parking when a line needs the agent, voice messages called
back, revisits, reviews, re-dispatches, merged duplicates, and replies that
reach a channel's gateway (later, when it was down)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline import accounts
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.credentials import ensure_secrets
from hotline.db.models import Callback, OutboxMessage, VoiceMessage, WorkEvent, WorkItem
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.work.api import WORK
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import SHANGHAI, Clock
from tests.integration.desk import Desk
from tests.integration.floor import acd, iface, takers
from tests.integration.gateway_sim import GatewaySim
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, set_clock
from tests.integration.test_ivr import SATURDAY, choose
from tests.integration.test_tickets import department_api

pytestmark = pytest.mark.pbx

# An address no community owns (test_grid.py has those): dispatched to the department.
NOISE = {
    "category": "env-noise",
    "district": "东城区",
    "address": "长江路8号",
    "content": "长江路8号的工地每天夜里十二点后还在打桩施工，噪音很大",
    "caller": "13900000001",
}


async def from_gateway(server: TestServer, channel: str, body: dict[str, Any]) -> dict[str, Any]:
    token = ensure_secrets(server.app[SETTINGS])["gateway_tokens"][channel]
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.make_url("/api/channels/tickets"), json=body, headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return await resp.json()


def sim(server: TestServer, channel: str) -> GatewaySim:
    s = server.app[SETTINGS]
    port = int(s.channels[channel].url.split(":")[2].split("/")[0])
    return GatewaySim(port, ensure_secrets(s)["outbox_tokens"][channel])


def offered(desk: Desk) -> list[dict[str, Any]]:
    """The items the desk was last told it holds."""
    frames = [f for f in desk.frames if f["type"] == "work"]
    return frames[-1]["items"] if frames else []


async def two_rounds_with(server: TestServer, item_ids: set[int]) -> None:
    """The work queue knows these items and has gone round twice since: what
    it would have offered, it has (a fixed sleep proved nothing)."""
    work = server.app[WORK]
    await eventually(lambda: item_ids <= set(work.items), timeout=15)
    rounds = work.rounds
    await eventually(lambda: work.rounds >= rounds + 2, timeout=15)


async def offer_to(desk: Desk, ticket: str = "", kind: str = "", timeout: float = 15) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next(
            (
                i
                for i in offered(desk)
                if i["state"] == "offered" and (not ticket or i["ticket"] == ticket) and (not kind or i["kind"] == kind)
            ),
            None,
        )

    return await eventually(find, timeout=timeout)


async def events_of(server: TestServer, item: int) -> list[str]:
    async with server.app[SESSIONS]() as db:
        return [
            e.action
            for e in (await db.scalars(select(WorkEvent).where(WorkEvent.item_id == item).order_by(WorkEvent.id))).all()
        ]


async def floor_of(server: TestServer, seats: int, lines: int) -> list[Desk]:
    """Agents at seat01..seatNN, the first `lines` of them on the phone lines."""
    await acd(server).set_lines(lines, "lead")
    desks = []
    for i in range(1, seats + 1):
        desks.append(await Desk(server, f"seat{i:02d}").start())
        acd(server).clock.now += dt.timedelta(seconds=1)  # distinct login times: a stable order
    await eventually(lambda: sum(1 for s in acd(server).floor.seats.values() if s.on_line) == lines)
    return desks


async def close_all(*things: Any) -> None:
    for t in things:
        await t.close()


async def test_a_channel_ticket_goes_to_an_agent_off_the_lines_moves_on_unaccepted_and_the_reply_reaches_the_gateway(
    controller: TestServer,
) -> None:
    gateway = await sim(controller, "wechat").start()
    desks = await floor_of(controller, 3, lines=1)
    line, first, second = desks
    try:
        ticket = await from_gateway(controller, "wechat", NOISE)
        item = await offer_to(first, ticket["number"], "intake")
        assert item["kind_text"] == "网络渠道诉求" and item["offer_until"] is not None
        assert offered(line) == [] and offered(second) == []
        # Not accepted in time (work.offer_seconds): the next agent gets it, the first loses it.
        acd(controller).clock.now += dt.timedelta(seconds=controller.app[SETTINGS].work.offer_seconds + 1)
        await offer_to(second, ticket["number"])
        await eventually(lambda: offered(first) == [])
        assert await events_of(controller, item["id"]) == ["created", "offered", "lapsed", "offered"]
        status, body = await first.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 409 and body["error_id"] == "work-refused"
        status, detail = await second.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 200 and detail["state"] == "accepted"
        assert detail["ticket_view"]["content"] == NOISE["content"]
        # The seat map sees who works on what.
        await eventually(lambda: acd(controller).floor.seats["seat03"].working == "网络渠道诉求")
        # The reply, written with the ticket's change, reaches the citizen's channel.
        status, closed = await second.call(
            "POST",
            f"/api/tickets/{ticket['number']}/submit",
            json={**NOISE, "handling": "answered", "answer": "已通知城管执法队夜间巡查，禁止夜间打桩。"},
        )
        assert status == 200 and closed["status"] == "closed"
        await eventually(lambda: offered(second) == [])
        assert (await events_of(controller, item["id"]))[-1] == "done"
        sent = await eventually(lambda: [m for m in gateway.for_ticket(ticket["number"]) if m["kind"] == "reply"])
        assert sent[0]["text"] == "已通知城管执法队夜间巡查，禁止夜间打桩。" and sent[0]["citizen"] == "13900000001"
        assert [m["status"] for m in gateway.for_ticket(ticket["number"])] == ["accepted", "closed"]
        assert all(r["auth"] == f"Bearer {gateway.token}" for r in gateway.received)
        _, view = await second.call("GET", f"/api/tickets/{ticket['number']}")
        assert {d["state_text"] for d in view["deliveries"]} == {"已送达"}
        lead = await Api(controller).login_as(Role.LEAD)
        _, over = await lead.request("GET", "/api/work/overview")
        intake = next(f for f in over["figures"] if f["kind"] == "intake")
        assert (intake["arrived"], intake["handled"], intake["within_deadline"]) == (1, 1, 1)
        _, metrics = await lead.request("GET", "/metrics")
        assert 'hotline_work_24h{figure="handled",kind="intake"} 1.0' in metrics
        assert 'hotline_outbox_messages{channel="wechat",state="delivered"} 2.0' in metrics
        await lead.close()
    finally:
        await close_all(*desks, gateway)


async def test_a_line_needs_the_agent_so_the_item_is_parked_and_offered_again(
    controller: TestServer, ami: AMIClient
) -> None:
    desks = await floor_of(controller, 3, lines=2)
    a1, a2, a3 = desks
    try:
        ticket = await from_gateway(controller, "app", NOISE)
        item = await offer_to(a3, ticket["number"])
        status, _ = await a3.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 200
        await eventually(lambda: acd(controller).floor.seats["seat03"].working != "")
        # A line agent pauses: the planner takes seat03 onto the line (phone
        # calls win) and its item goes back to the queue, not lost.
        status, _ = await a1.call("POST", "/api/agent/pause", json={"reason": "break"})
        assert status == 200
        await eventually(lambda: acd(controller).floor.seats["seat03"].on_line)
        assert iface(3) in await eventually(lambda: _takers_with(ami, iface(3)), timeout=15)
        await eventually(lambda: offered(a3) == [])
        assert "parked" in await events_of(controller, item["id"])
        # The paused agent comes back, off the lines now: the parked item is theirs.
        status, _ = await a1.call("POST", "/api/agent/ready")
        again = await offer_to(a1, ticket["number"])
        assert again["parked"] is True
        status, _ = await a1.call("POST", f"/api/work/{again['id']}/accept")
        assert status == 200
        async with controller.app[SESSIONS]() as db:
            row = await db.get(WorkItem, item["id"])
        assert row.state == "accepted" and row.agent == a1.username
    finally:
        await close_all(*desks)


async def _last_two(server: TestServer, item: int, expected: list[str]) -> bool:
    return (await events_of(server, item))[-2:] == expected


async def _takers_with(ami: AMIClient, interface: str) -> set[str] | None:
    now = await takers(ami)
    return now if interface in now else None


async def test_a_voice_message_from_the_ivr_is_offered_and_the_agent_calls_the_citizen_back(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    # A message node for the general agents: the default flow's (key 3 out of
    # lawyer hours) is the lawyers' (test_lawyers.py).
    admin = await Api(controller).login_as(Role.ADMIN)
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    await admin.request(
        "PUT", "/api/ivr/flows/hotline/draft", json={"document": flow["draft"].replace("    lawyers: true\n", "")}
    )
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/publish")
    assert status == 200, body
    await admin.close()
    # Out of lawyer hours: key 3 leaves a message (the new version and the hour both in the PBX).
    await set_clock(controller, clock, SATURDAY)
    caller = await choose(controller, ami, recorder, "3", speak=True)
    await caller.rec.wait_for(
        ev.AGIExecStart, lambda e: e.channel == caller.inner and e.command.startswith("RECORD FILE"), timeout=40
    )
    await asyncio.sleep(1.5)  # the caller speaks
    await caller.press("#")
    await caller.hung_up()

    async def message() -> VoiceMessage | None:
        async with controller.app[SESSIONS]() as db:
            return await db.scalar(select(VoiceMessage).where(VoiceMessage.caller == caller.caller))

    assert await eventually(message, timeout=15)
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    try:
        item = await offer_to(agent, kind="voicemail")
        assert item["kind_text"] == "语音留言" and "的语音留言" in item["title"]
        status, detail = await agent.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 200 and detail["number"] == caller.caller and detail["results"] == ["ticket", "unreachable"]
        async with agent.api.http.get(controller.make_url(detail["voicemail"]["audio"])) as resp:
            audio = await resp.read()
        assert resp.status == 200 and audio[:4] == b"RIFF" and len(audio) > 8000
        # Someone else cannot listen to it.
        status, _ = await desks[0].call("GET", detail["voicemail"]["audio"])
        assert status == 409
        # The agent's phone rings, then the citizen's: reached on the simulated line, as 12345.
        status, body = await agent.call("POST", f"/api/work/{item['id']}/call")
        assert status == 200 and body["calling"]
        reached = await recorder.wait_for(
            ev.Newstate,
            lambda e: (
                e.channel.startswith(f"Local/{caller.caller}@sim-pstn")
                and e.channel.endswith(";2")
                and e.channel_state_desc == "Up"
            ),
            timeout=20,
        )
        assert reached.caller_id_num == "12345"
        status, result = await agent.call(
            "POST",
            f"/api/work/{item['id']}/result",
            json={
                "outcome": "ticket",
                "note": "已回电",
                "ticket": {"category": "consult", "district": "东城区", "content": "咨询劳动合同纠纷如何申请仲裁"},
            },
        )
        assert status == 200 and result["done"]
        _, t = await agent.call("GET", f"/api/tickets/{result['ticket']}")
        assert (t["channel"], t["caller"], t["agent"], t["status"]) == (
            "voicemail",
            caller.caller,
            agent.username,
            "accepted",
        )
        await eventually(lambda: offered(agent) == [])
        assert (await events_of(controller, item["id"]))[-2:] == ["accepted", "done"]
    finally:
        await close_all(*desks)


async def test_returned_feedback_review_and_a_revisit_that_falls_due(controller: TestServer, clock: Clock) -> None:
    gateway = await sim(controller, "wechat").start()
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    dept = await department_api(controller, "zjw")
    try:
        ticket = await from_gateway(
            controller, "wechat", {**NOISE, "category": "urban-property", "content": "小区电梯停运一周无人维修"}
        )
        number = ticket["number"]
        item = await offer_to(agent, number, "intake")
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, _ = await agent.call(
            "POST",
            f"/api/tickets/{number}/submit",
            json={
                **NOISE,
                "category": "urban-property",
                "content": "小区电梯停运一周无人维修",
                "handling": "dispatched",
            },
        )
        assert status == 200
        # The department returns it: re-dispatching is work for an agent.
        await dept.request("POST", f"/api/tickets/{number}/return", json={"note": "不属于本部门职责"})
        item = await offer_to(agent, number, "redispatch")
        assert "不属于本部门职责" in item["title"]
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, body = await agent.call("POST", f"/api/tickets/{number}/dispatch", json={"department": "zjw"})
        assert status == 200 and body["status"] == "dispatched"
        # Feedback is reviewed: returned once, approved the second time.
        await dept.request("POST", f"/api/tickets/{number}/feedback", json={"note": "已联系物业"})
        item = await offer_to(agent, number, "review")
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, body = await agent.call("POST", f"/api/tickets/{number}/reject", json={})
        assert status == 400  # a return needs its reason
        status, body = await agent.call("POST", f"/api/tickets/{number}/reject", json={"note": "未说明维修时间"})
        assert status == 200 and body["status"] == "dispatched"
        await dept.request("POST", f"/api/tickets/{number}/feedback", json={"note": "电梯已于周三修复"})
        item = await offer_to(agent, number, "review")
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, body = await agent.call("POST", f"/api/tickets/{number}/approve", json={})
        assert status == 200 and body["reviewed_at"]
        await eventually(lambda: offered(agent) == [])
        # The revisit falls due an hour after approval (work.revisit_delay_hours), not before:
        # the queue holds it and went round twice without offering it.
        work = controller.app[WORK]
        revisit = await eventually(
            lambda: next((i.id for i in work.items.values() if i.kind == "revisit" and i.ticket == number), None)
        )
        await two_rounds_with(controller, {revisit})
        assert offered(agent) == []
        clock.now += dt.timedelta(hours=1, seconds=1)
        item = await offer_to(agent, number, "revisit")
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, body = await agent.call(
            "POST",
            f"/api/tickets/{number}/revisit",
            json={"satisfied": True, "satisfaction": 1, "note": "市民表示满意"},
        )
        assert status == 200 and body["status"] == "closed"
        await eventually(lambda: offered(agent) == [])
        # The citizen heard of each step through their channel.
        texts = await eventually(
            lambda: [m["text"] for m in gateway.for_ticket(number)] if len(gateway.for_ticket(number)) >= 6 else None
        )
        assert any("电梯已于周三修复" in t for t in texts) and "已办结" in texts[-1]
        assert not any("不属于本部门职责" in t for t in texts)  # a department's return is internal
    finally:
        await close_all(*desks, dept, gateway)


async def test_duplicates_are_suggested_and_merged_keeping_every_source(controller: TestServer) -> None:
    gateway = await sim(controller, "wechat").start()
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    try:
        first = await from_gateway(controller, "app", NOISE)
        item = await offer_to(agent, first["number"], "intake")
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        await agent.call("POST", f"/api/tickets/{first['number']}/submit", json={**NOISE, "handling": "dispatched"})
        again = await from_gateway(
            controller,
            "wechat",
            {**NOISE, "caller": "13900000002", "content": "长江路8号工地每天夜里十二点后还在打桩，噪音太大"},
        )
        item = await offer_to(agent, again["number"], "intake")
        # Handed back, it comes round again (nobody else is free).
        status, _ = await agent.call("POST", f"/api/work/{item['id']}/hand-back", json={"reason": "稍后处理"})
        assert status == 200
        await eventually(lambda: _last_two(controller, item["id"], ["handed-back", "offered"]))
        # The suspected duplicate waits as an item of its own, and the desk
        # already suggests the ticket it repeats.
        async with controller.app[SESSIONS]() as db:
            dup = await db.scalar(select(WorkItem).where(WorkItem.kind == "duplicate", WorkItem.ref == again["number"]))
        assert dup is not None and first["number"] in dup.title
        status, detail = await agent.call("POST", f"/api/work/{item['id']}/accept")
        assert status == 200
        [cand] = detail["candidates"]
        assert cand["number"] == first["number"] and "地址和分类相同" in cand["reasons"]
        status, merged = await agent.call(
            "POST", f"/api/tickets/{again['number']}/merge", json={"into": first["number"]}
        )
        assert status == 200 and (merged["status"], merged["merged_into"]) == ("closed", first["number"])
        _, kept = await agent.call("GET", f"/api/tickets/{first['number']}")
        assert [s["number"] for s in kept["sources"]] == [again["number"]]
        assert kept["sources"][0]["channel"] == "wechat" and kept["caller"] == "13900000001"
        # Both the duplicate item and the merged ticket's intake item are done.
        await eventually(lambda: offered(agent) == [])
        assert await events_of(controller, dup.id) == ["created", "done"]
        assert all(k.waiting + k.in_hand == 0 for k in controller.app[WORK].summary().kinds)
        told = await eventually(lambda: [m for m in gateway.for_ticket(again["number"]) if "合并办理" in m["text"]])
        assert told[0]["status"] == "closed"
        status, body = await agent.call("POST", f"/api/tickets/{again['number']}/merge", json={"into": "abc"})
        assert status == 400
    finally:
        await close_all(*desks, gateway)


async def test_a_gateway_that_is_down_gets_the_reply_later_and_one_that_never_answers_shows_on_the_ticket(
    controller: TestServer,
) -> None:
    gateway = await sim(controller, "wechat").start()
    gateway.down = True
    desks = await floor_of(controller, 2, lines=1)
    try:
        ticket = await from_gateway(controller, "wechat", NOISE)
        await eventually(lambda: len(gateway.received) >= 3)  # retried while it is down
        assert gateway.messages == {}
        gateway.down = False
        got = await eventually(lambda: gateway.for_ticket(ticket["number"]))
        assert got[0]["status"] == "accepted"
        assert len({r["key"] for r in gateway.received}) == 1  # one message, one key, several attempts
        lead = await Api(controller).login_as(Role.LEAD)
        async with controller.app[SESSIONS]() as db:
            msg = await db.scalar(select(OutboxMessage).where(OutboxMessage.ticket_number == ticket["number"]))
        _, log = await lead.request("GET", f"/api/outbox/{msg.id}/attempts")
        assert [a["status"] for a in log["attempts"]][-1] == 200 and log["attempts"][0]["status"] == 503
        # SMS: nothing listens on its gateway; after channels.sms.max_attempts it is undeliverable.
        sms = await from_gateway(controller, "sms", NOISE)

        async def failed() -> bool:
            _, v = await lead.request("GET", f"/api/tickets/{sms['number']}")
            return [d["state_text"] for d in v["deliveries"]] == ["无法送达"]

        await eventually(failed, timeout=20)
        await lead.close()
        async with controller.app[SESSIONS]() as db, db.begin():
            _, password = await accounts.create_user(db, "lead-qian", "钱班长", [Role.LEAD])
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1300, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/tickets")))
            await sign_in(page, "lead-qian", password, "/tickets")
            await page.goto(str(controller.make_url(f"/tickets#{sms['number']}")))
            await page.wait_for_selector("#deliveries li.err:has-text('无法送达')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "ticket-undeliverable.png"), full_page=True)
            await page.click("#deliveries button:has-text('重新发送')")
            await page.wait_for_selector("#msg.ok:has-text('已重新发送')")
    finally:
        await close_all(*desks, gateway)


async def test_the_public_page_on_a_phone_screen_files_a_request_and_shows_its_progress(controller: TestServer) -> None:
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    base = str(controller.make_url("/"))
    try:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)).new_page()
            await page.goto(base + "public")  # no login
            assert "网上受理" in await page.title()
            await page.fill("#content", "西城区和平路路灯坏了一个多月，晚上很黑")
            await page.fill("#phone", "13812345678")
            await page.select_option("#district", "西城区")
            await page.fill("#address", "和平路 22 号门前")
            await page.click("#send")
            await page.wait_for_selector("#receipt:not(.hidden)")
            number = await page.locator("#rNumber").inner_text()
            code = await page.locator("#rCode").inner_text()
            assert number.startswith("2026") and len(code) == 8 and code.isdigit()
            # When to expect an answer: the general limit (5 days) from the city's today.
            expect = (acd(controller).clock.now.astimezone(SHANGHAI) + dt.timedelta(days=5)).strftime("%Y年%m月%d日")
            assert await page.locator("#rExpect").inner_text() == expect
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "public-filed.png"), full_page=True)
            # It feeds the same work queue: an agent off the lines answers it.
            item = await offer_to(agent, number, "intake")
            await agent.call("POST", f"/api/work/{item['id']}/accept")
            status, _ = await agent.call(
                "POST",
                f"/api/tickets/{number}/submit",
                json={
                    "category": "urban-works",
                    "district": "西城区",
                    "content": "和平路路灯损坏",
                    "handling": "answered",
                    "answer": "已通知路灯管理所，三日内修复。",
                },
            )
            assert status == 200
            await page.click("#query")
            await page.wait_for_selector("#sStatus:has-text('已办结')")
            # The answer is brought into view on the phone's screen, not left below the fold.
            in_view = "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
            await page.wait_for_function(f"({in_view})(document.getElementById('sStatus'))")
            assert "三日内修复" in await page.locator("#sReply").inner_text()
            steps = await page.locator("#sSteps li").all_inner_texts()
            assert [s.split(" ", 2)[-1] for s in steps] == ["已受理", "已答复"]
            await page.screenshot(path=str(SHOTS / "public-status.png"), full_page=True)
            # A wrong code learns nothing.
            await page.fill("#qCode", "00000000" if code != "00000000" else "11111111")
            await page.click("#query")
            await page.wait_for_selector("#qErr:has-text('不正确')")
    finally:
        await close_all(*desks)
    api = Api(controller)
    try:
        ok = {"content": "噪音", "phone": "13812345678", "district": "东城区"}
        status, body = await api.request("POST", "/api/public/requests", json={**ok, "content": "长" * 2001})
        assert status == 400 and body["details"]["field"] == "content"
        status, body = await api.request("POST", "/api/public/requests", json={**ok, "phone": "1381234567８"})
        assert status == 400 and body["details"]["field"] == "phone"
        status, body = await api.request("POST", "/api/public/requests", json={**ok, "district": "火星"})
        assert status == 400
        # The browser filed one; four more from this address, then it must wait.
        for _ in range(4):
            assert (await api.request("POST", "/api/public/requests", json=ok))[0] == 201
        status, body = await api.request("POST", "/api/public/requests", json=ok)
        assert status == 429 and body["error_id"] == "public-throttled"
    finally:
        await api.close()


async def test_the_desk_and_the_seat_map_in_chromium(controller: TestServer, clock: Clock) -> None:
    async with controller.app[SESSIONS]() as db, db.begin():
        _, pw_agent = await accounts.create_user(db, "desk-wang", "王坐席", [Role.AGENT])
        _, pw_lead = await accounts.create_user(db, "lead-zhao", "赵班长", [Role.LEAD])
    await acd(controller).set_lines(0, "lead")
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        desk = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
        await desk.goto(base + "desk")
        await sign_in(desk, "desk-wang", pw_agent, "/desk")
        await desk.wait_for_selector("#conn:has-text('已连接')")
        await desk.select_option("#seatInput", "seat05")
        await desk.click("#seatLogin")
        await desk.wait_for_selector("#seatState:has-text('未就绪')")
        await desk.click("#btnReady")
        await desk.wait_for_selector("#seatState:has-text('非线路')")
        lead = await (await browser.new_context(viewport={"width": 1400, "height": 1100})).new_page()
        await lead.goto(base + "lead/seatmap")
        await sign_in(lead, "lead-zhao", pw_lead, "/lead/seatmap")
        await lead.wait_for_selector("#workKinds:has-text('无待处理')")

        waiting = await from_gateway(controller, "wechat", {**NOISE, "content": "菜市场门口占道经营"})
        await desk.wait_for_selector("#workbar:not(.hidden) #workTitle:has-text('网络渠道诉求')")
        # A second item waits while the agent holds the first: past its 3
        # minutes, the lead's map turns red and sounds.
        await from_gateway(controller, "sms", {**NOISE, "content": "公交站台广告牌松动"})
        await lead.wait_for_selector("#workKinds:has-text('网络渠道诉求 待处理 1')")
        clock.now += dt.timedelta(minutes=4)
        await lead.wait_for_selector("#workAlert.on:has-text('超时')")
        await desk.click("#btnAccept")
        await desk.wait_for_selector(f"#number:text-is('{waiting['number']}')")
        assert await desk.locator("#content").input_value() == "菜市场门口占道经营"
        await lead.wait_for_selector("#seat-seat05:has-text('处理中：网络渠道诉求')")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await desk.screenshot(path=str(SHOTS / "desk-work.png"), full_page=True)
        await lead.screenshot(path=str(SHOTS / "seatmap-work.png"), full_page=True)
        await desk.fill("#answer", "已通知市场监管所现场处置。")
        await desk.click("#btnSubmit")
        await desk.wait_for_selector(f"#last:has-text('{waiting['number']}（已办结）')")
        # The next item is offered at once.
        await desk.wait_for_selector("#workTitle:has-text('公交站台广告牌松动')")


async def test_a_missed_call_callback_that_kept_failing_is_left_to_an_agent(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """Every automatic attempt goes through the PBX: the seat on the line
    takes the placeholder, the citizen's (simulated) line refuses the call."""
    seen: list[ev.Event] = []
    number, attempts = "13677770009", controller.app[SETTINGS].acd.callback_attempts
    desks = await floor_of(controller, 2, lines=1)
    line, agent = desks
    await ami.action("Setvar", Variable="SIM_PSTN_REFUSE", Value=number)
    try:
        async with controller.app[SESSIONS]() as db, db.begin():
            now = acd(controller).now()
            row = Callback(
                kind="missed",
                number=number,
                call_id="c-9",
                position=0,
                status="pending",
                attempts=0,
                created_at=now,
                due_at=now,
            )
            db.add(row)
            await db.flush()
            cb_id = row.id
        for attempt in range(1, attempts + 1):
            # The seat on the line takes the placeholder, then the citizen's line is rung and refuses.
            taken = await recorder.wait_for(
                ev.AgentConnect,
                lambda e: e.channel.startswith(f"Local/cb{cb_id}@") and not any(e is x for x in seen),
                timeout=20,
            )
            seen.append(taken)
            ended = await recorder.wait_for(
                ev.HotlineCallback, lambda e: e.callback_id == str(cb_id) and not any(e is x for x in seen), timeout=20
            )
            seen.append(ended)
            assert ended.status not in ("ANSWER", ""), ended.raw.as_dict()
            cb = await eventually(lambda: _callback_after(controller, cb_id, attempt), timeout=15)
            assert cb.last_result == ended.status
            if attempt < attempts:
                # Tried again after acd.callback_retry_seconds, once the seat is free again.
                assert cb.status == "pending"
                await eventually(lambda: acd(controller).floor.seats["seat01"].status().value == "wrapup")
                await line.call("POST", "/api/agent/wrapup/end")
                acd(controller).clock.now += dt.timedelta(
                    seconds=controller.app[SETTINGS].acd.callback_retry_seconds + 1
                )
        assert cb.status == "failed" and cb.attempts == attempts
        await ami.action("Setvar", Variable="SIM_PSTN_REFUSE", Value="")
        item = await offer_to(agent, kind="callback")
        assert "136****0009" in item["title"] and "13677770009" not in item["title"]
        _, detail = await agent.call("POST", f"/api/work/{item['id']}/accept")
        assert detail["number"] == "13677770009" and "voicemail" not in detail
        await agent.call("POST", f"/api/work/{item['id']}/call")
        await recorder.wait_for(
            ev.Newstate,
            lambda e: e.channel.startswith("Local/13677770009@sim-pstn") and e.channel_state_desc == "Up",
            timeout=20,
        )
        # Not reached this time: it comes back after work.retry_minutes, not before.
        status, body = await agent.call("POST", f"/api/work/{item['id']}/result", json={"outcome": "unreachable"})
        assert status == 200 and body == {"done": False, "attempts": 1}
        await eventually(lambda: offered(agent) == [])
        await two_rounds_with(controller, {item["id"]})  # held back, not forgotten
        assert offered(agent) == []
        acd(controller).clock.now += dt.timedelta(minutes=controller.app[SETTINGS].work.retry_minutes + 1)
        again = await offer_to(agent, kind="callback")
        assert again["id"] == item["id"] and again["attempts"] == 1
    finally:
        await close_all(*desks)


async def _callback_after(server: TestServer, cb_id: int, attempts: int) -> Callback | None:
    """The callback once its `attempts`-th try is settled."""
    async with server.app[SESSIONS]() as db:
        cb = await db.get(Callback, cb_id)
    return cb if cb is not None and cb.attempts == attempts and cb.status in ("pending", "failed") else None
