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
        # Listen: the lead's own seat phone rings into ChanSpy on the talking seat.
        status, body = await lead.request("POST", "/api/lead/seats/seat01/spy", json={"mode": "listen"})
        assert status == 409 and body["error_id"] == "seat-not-in-call"
        caller = await queue_caller(ami)
        await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller)
        # The controller has its own AMI connection: wait until it, too, saw the call.
        await eventually(lambda: controller.app[ACD].seat_named("seat01").talking)
        status, body = await lead.request("POST", "/api/lead/seats/seat01/spy", json={"mode": "listen"})
        assert status == 409 and body["error_id"] == "lead-not-at-seat"
        await controller.app[ACD].login("seat10", "lead-zhang", "张组长")
        status, body = await lead.request("POST", "/api/lead/seats/seat01/spy", json={"mode": "barge"})
        assert status == 200 and body["phone"] == "seat10"
        spying = await recorder.wait_for(ev.UnknownEvent, lambda e: e.name == "ChanSpyStart", timeout=10)
        assert spying.raw.get("SpyeeChannel").startswith("Local/seat01@sim-seat")
        assert spying.raw.get("SpyerChannel").startswith("Local/seat10@sim-seat")
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
