"""The shift lead's seat map: websocket snapshot and deltas from a real-PBX
run, the page in headless Chromium, and supervisor actions on the PBX."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import SHANGHAI
from tests.integration.floor import equals as _equals
from tests.integration.floor import iface, queue_caller, staff, takers
from tests.integration.floor import member_paused as _member_paused
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def frames(ws: aiohttp.ClientWebSocketResponse, until, timeout: float = 15) -> dict:  # noqa: ANN001
    async def read() -> dict:
        while True:
            msg = json.loads((await ws.receive()).data)
            if until(msg):
                return msg

    return await asyncio.wait_for(read(), timeout)


async def test_websocket_snapshot_then_deltas(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 2)
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        async with lead.http.ws_connect(controller.make_url("/ws/seatmap"), origin=lead.origin) as ws:
            first = await frames(ws, lambda m: True)
            assert first["type"] == "snapshot" and len(first["seats"]) == 26
            assert first["seats"]["seat01"]["state"] == "ready" and first["seats"]["seat03"]["state"] == "offline"
            await ami.action(
                "Originate",
                Channel="Local/s@hotline-fallback",
                Application="Wait",
                Data="600",
                CallerID="<13812345678>",
                Variable="__HOTLINE_TAG=城建",
                Async="true",
            )
            talking = await frames(
                ws, lambda m: m["type"] == "delta" and any(s["state"] == "talking" for s in m.get("seats", {}).values())
            )
            seat = next(s for s in talking["seats"].values() if s["state"] == "talking")
            assert seat["caller"] == "138****5678" and seat["tag"] == "城建" and seat["text"] == "通话中"
            assert set(talking["seats"]) <= {"seat01", "seat02"}  # only what changed
            connect = await recorder.wait_for(ev.AgentConnect)
            await ami.action("Hangup", Channel=connect.channel)
            after = await frames(
                ws,
                lambda m: (
                    m["type"] == "delta"
                    and seat["seat"] in m.get("seats", {})
                    and m["seats"][seat["seat"]]["state"] == "wrapup"
                ),
            )
            assert after["seats"][seat["seat"]]["caller"] == ""
    finally:
        await lead.close()


async def test_an_agent_is_refused_the_map_and_its_websocket(controller: TestServer) -> None:
    agent = await Api(controller).login_as(Role.AGENT)
    try:
        status, _ = await agent.request("GET", "/lead/seatmap")
        assert status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await agent.http.ws_connect(controller.make_url("/ws/seatmap"), origin=agent.origin)
        assert info.value.status == 403
    finally:
        await agent.close()


async def test_supervisor_actions_act_on_the_pbx(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 3)
    lead = await Api(controller).login_as(Role.LEAD, "lead-zhang")
    try:
        await eventually(lambda: _equals(takers(ami), {iface(1), iface(2), iface(3)}))
        # Force pause: the member is paused on Asterisk.
        status, body = await lead.request("POST", "/api/lead/seats/seat02/pause", json={"reason": "meeting"})
        assert status == 200 and body["status"] == "paused"
        await eventually(lambda: _member_paused(ami, iface(2), "会议"))
        # Line count: membership follows.
        status, _ = await lead.request("PUT", "/api/acd/lines", json={"count": 1})
        assert status == 200
        await eventually(lambda: _equals(takers(ami), {iface(1)}))
        # Listen: the lead's monitoring phone (never a queue member) rings into ChanSpy on the talking seat.
        status, body = await lead.request(
            "POST", "/api/lead/seats/seat01/spy", json={"mode": "listen", "phone": "monitor01"}
        )
        assert status == 409 and body["error_id"] == "seat-not-in-call"
        caller = await queue_caller(ami)
        await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller)
        # The controller has its own AMI connection: wait until it, too, saw the call.
        await eventually(lambda: controller.app[ACD].seat_named("seat01").talking)
        # No monitoring phone named: refused, saying which there are.
        status, body = await lead.request("POST", "/api/lead/seats/seat01/spy", json={"mode": "listen"})
        assert status == 400 and body["details"]["field"] == "phone" and "monitor01" in body["message"]
        status, body = await lead.request(
            "POST", "/api/lead/seats/seat01/spy", json={"mode": "barge", "phone": "monitor01"}
        )
        assert status == 200 and body["phone"] == "monitor01"
        spying = await recorder.wait_for(ev.UnknownEvent, lambda e: e.name == "ChanSpyStart", timeout=10)
        assert spying.raw.get("SpyeeChannel").startswith("Local/seat01@sim-seat")
        assert spying.raw.get("SpyerChannel").startswith("Local/monitor01@sim-monitor")
        # Force logout, and every action is in the log with who did it.
        status, _ = await lead.request("POST", "/api/lead/seats/seat03/logout", json={})
        assert status == 200
        status, body = await lead.request("GET", "/api/lead/log")
        mine = [c for c in body["changes"] if c["actor"] == "lead-zhang"]
        kinds = [c["kind"] for c in mine]
        assert {"lead", "lines-override", "spy", "logout"} <= set(kinds)
        assert any("强插" in c["detail"] for c in mine)
    finally:
        await lead.close()


async def test_the_page_turns_a_seat_when_a_call_connects_and_back(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    await staff(controller, 1)
    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "map-lead", "值班长", [Role.LEAD])
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        # A browser whose clock is set to UTC (a laptop abroad, a server's kiosk) still reads the city's time.
        page = await (await browser.new_context(viewport={"width": 1500, "height": 1000}, timezone_id="UTC")).new_page()
        await page.goto(base + "lead/seatmap")
        await sign_in(page, "map-lead", password, "/lead/seatmap")
        seat = page.locator("#seat-seat01")
        await seat.wait_for()
        await page.wait_for_selector("#seat-seat01[data-state=ready]")
        logged_in = [c for c in controller.app[ACD].changes if c.kind == "login"][-1]
        local = dt.datetime.fromisoformat(logged_in.at).astimezone(SHANGHAI).strftime("%H:%M:%S")
        await page.wait_for_selector(f"#log li:has-text('{local} seat01')")
        assert await page.locator("#window").inner_text() in ("日间", "夜间", "节假日")
        caller = await queue_caller(ami, "13900001111")
        await page.wait_for_selector("#seat-seat01[data-state=talking]")
        assert "139****1111" in await seat.inner_text()
        assert "通话中" in await seat.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "seatmap.png"), full_page=True)
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller)
        await ami.action("Hangup", Channel=connect.channel)
        await page.wait_for_selector("#seat-seat01[data-state=wrapup]")
        controller.app[ACD].end_wrapup("seat01", "agent01")
        await page.wait_for_selector("#seat-seat01[data-state=ready]")
        assert await page.locator("#conn").inner_text() == "● 实时"


async def test_terminal_seat_map_follows_the_floor(controller: TestServer, ami: AMIClient) -> None:
    from rich.console import Console

    from hotline.seatmap.terminal import follow, render

    await staff(controller, 1)
    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "tty-lead", "值班长", [Role.LEAD])
    base = str(controller.make_url("")).rstrip("/")
    views = follow(base, "tty-lead", password)
    try:
        first = await asyncio.wait_for(views.__anext__(), 10)
        assert first["seats"]["seat01"]["state"] == "ready"
        caller = await queue_caller(ami, "13711112222")

        async def talking() -> dict:
            async for view in views:
                if view["seats"]["seat01"]["state"] == "talking":
                    return view
            raise AssertionError("stream ended")

        view = await asyncio.wait_for(talking(), 15)
        console = Console(width=140, record=True)
        console.print(render(view, view["columns"]))
        text = console.export_text()
        assert "通话中" in text and "137****2222" in text
        assert view["seats"]["seat01"]["caller"] == "137****2222" and caller not in text  # masked, never whole
    finally:
        await views.aclose()


async def test_the_lead_listens_from_a_monitoring_phone_that_takes_no_calls_sees_it_and_stops_it(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    await staff(controller, 1)
    acd_ = controller.app[ACD]
    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "spy-lead", "王组长", [Role.LEAD])
        _, admin_pw = await accounts.create_user(db, "map-admin", "管理员", [Role.ADMIN])
    base = str(controller.make_url("/"))
    talker = await queue_caller(ami)
    await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == talker, timeout=20)
    await eventually(lambda: acd_.seat_named("seat01").talking)
    # A second caller waits for an agent; the lead's monitoring phone is free and must stay out of it.
    waiting = await queue_caller(ami)
    await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == waiting, timeout=20)
    async with chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
        await page.goto(base + "lead/seatmap")
        await sign_in(page, "spy-lead", password, "/lead/seatmap")
        await page.wait_for_selector("#seat-seat01[data-state=talking]")
        # The line, standby, monitoring phone and sound controls are above the fold.
        for sel in ("#setLines", "[data-standby=on]", "#monitor", "#sound", "#overflow"):
            box = await page.locator(sel).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, sel
        # No monitoring phone chosen yet: the page says what to do, next to the controls.
        await page.click("#seat-seat01 button:text-is('监听')")
        await page.wait_for_selector("#feedback .err:has-text('请先在上方')")
        await page.select_option("#monitor", "monitor01")
        await page.click("#seat-seat01 button:text-is('监听')")
        await page.wait_for_selector("#seat-seat01 .spying:has-text('王组长监听中（monitor01）')")
        spying = await recorder.wait_for(ev.UnknownEvent, lambda e: e.name == "ChanSpyStart", timeout=15)
        assert spying.raw.get("SpyerChannel", "").startswith("Local/monitor01@sim-monitor")
        await page.wait_for_selector("#spies:has-text('monitor01：王组长监听')")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "seatmap-listening.png"))
        # The monitoring phone is no queue member: the waiting caller is not offered to it.
        assert not any("monitor" in m for m in await _members(ami))
        assert not recorder.of(ev.AgentCalled, lambda e: "monitor" in e.interface)
        assert len(acd_.waiting) == 1
        # Stopped from the tile: the phone hangs up, the tile and the header forget it.
        await page.click("#seat-seat01 button:has-text('停止监听')")
        await recorder.wait_for(ev.Hangup, lambda e: e.channel.startswith("Local/monitor01@sim-monitor"), timeout=15)
        await page.wait_for_selector("#seat-seat01 .spying", state="detached")
        await page.wait_for_selector("#feedback .ok:has-text('已停止监听 seat01')")
        assert "spy-stop" in [c.kind for c in acd_.changes]
        # An admin may watch but not force a seat: the refusal stays on screen through refreshes.
        admin = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
        await admin.goto(base + "lead/seatmap")
        await sign_in(admin, "map-admin", admin_pw, "/lead/seatmap")
        await admin.wait_for_selector("#seat-seat01[data-state=talking]")
        admin.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await admin.click("#seat-seat01 button:text-is('强制暂停')")
        await admin.wait_for_selector("#feedback .err:has-text('无权')")
        await ami.action("Hangup", Channel="/^Local.s@hotline-fallback-/")  # calls end: the map refreshes
        await admin.wait_for_selector("#seat-seat01:not([data-state=talking])", timeout=20000)
        assert await admin.locator("#feedback .err:has-text('无权')").is_visible()
        await admin.screenshot(path=str(SHOTS / "seatmap-refused-after-refresh.png"))
        await browser.close()


async def _members(ami: AMIClient) -> set[str]:
    status = await ami.list_action("QueueStatus")
    return {e.interface for e in status.events if isinstance(e, ev.QueueMember)}
