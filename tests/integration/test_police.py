"""The 12345 <-> 110 link against the real PBX: 110's incidents become one
ticket each (whatever 110 retries) and their status goes back; a 110 that
is down gets the backlog when it returns; a caller the desk sends to 110
becomes a signed incident with its recording link, and 110's receipt and
dispatch result reach the ticket and the agent's desk."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hotline import signing
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.credentials import peer_secret
from hotline.db.models import OutboxAttempt, OutboxMessage, Ticket, WorkItem
from hotline.police.simulator import Police110Simulator
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.desk import Desk
from tests.integration.floor import queue_caller
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api
from tests.integration.test_tickets import department_api
from tests.integration.test_work import close_all, floor_of, offer_to

pytestmark = pytest.mark.pbx

NOISE = "楼上装修每天晚上十点以后还在施工，噪音很大，不涉及打架。"


async def simulator(server: TestServer, **kw: Any) -> Police110Simulator:
    s = server.app[SETTINGS]
    sim = Police110Simulator(peer_secret(s, "110"), str(server.make_url("/")), **kw)
    await sim.start("127.0.0.1", int(s.police.url.rsplit(":", 1)[1]))
    return sim


async def tickets_with(server: TestServer, intake_no: str) -> int:
    async with server.app[SESSIONS]() as db:
        return await db.scalar(select(func.count()).select_from(Ticket).where(Ticket.external_ref == intake_no))


async def raw_post(server: TestServer, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(server.make_url(path), data=body, headers={"Content-Type": "application/json", **headers}) as r,
    ):
        return r.status, await r.json()


async def test_a_110_incident_becomes_one_ticket_and_its_status_goes_back_to_110(controller: TestServer) -> None:
    sim = await simulator(controller)
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    dept = await department_api(controller, "sthj")
    lead = await Api(controller).login_as(Role.LEAD)
    no = "J202611270001"
    try:
        status, first = await sim.push_incident(
            no,
            NOISE,
            address="西城区和平街 3 号楼",
            category_code="B07",
            caller="13800000110",
            caller_name="王先生",
            longitude=116.36,
            latitude=39.91,
        )
        assert status == 201 and first["created"], first
        # 110 did not hear the answer and sends it again, twice at once: still one ticket.
        again = await asyncio.gather(
            *(sim.push_incident(no, NOISE, address="西城区和平街 3 号楼", category_code="B07") for _ in range(3))
        )
        assert {(s, b["ticket"], b["created"]) for s, b in again} == {(200, first["ticket"], False)}
        assert await tickets_with(controller, no) == 1
        number = first["ticket"]
        # A work item with the 3-minute deadline, offered to the agent off the lines.
        item = await offer_to(agent, number, "intake")
        async with controller.app[SESSIONS]() as db:
            row = await db.get(WorkItem, item["id"])
            assert row is not None and row.due_at - row.created_at == 180
        _, view = await agent.call("GET", f"/api/tickets/{number}")
        assert (view["channel"], view["category"], view["district"], view["external_ref"]) == (
            "110",
            "env-noise",
            "西城区",
            no,
        )
        assert view["caller_name"] == "王先生" and view["police"][0]["direction_text"] == "110 转来"
        assert no in view["history"][0]["note"]
        # 110 hears "accepted" with its own number.
        await sim.wait(lambda: [s["status"] for s in sim.statuses_of(no)] == ["accepted"])
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, t = await agent.call(
            "POST",
            f"/api/tickets/{number}/submit",
            json={
                "category": "env-noise",
                "district": "西城区",
                "address": "和平街 3 号楼",
                "content": NOISE,
                "handling": "dispatched",
                "department": "sthj",
            },
        )
        assert status == 200 and t["status"] == "dispatched", t
        await sim.wait(lambda: [s["status"] for s in sim.statuses_of(no)] == ["accepted", "dispatched"])
        assert sim.statuses_of(no)[-1]["department"] == "sthj" and "市生态环境局" in sim.statuses_of(no)[-1]["text"]
        status, _ = await dept.request(
            "POST", f"/api/tickets/{number}/feedback", json={"note": "已约谈装修公司，夜间停工。"}
        )
        assert status == 200
        status, _ = await lead.request("POST", f"/api/tickets/{number}/approve", json={})
        assert status == 200
        await sim.wait(lambda: len(sim.statuses_of(no)) == 3)
        assert sim.statuses_of(no)[-1]["outcome"] == "已约谈装修公司，夜间停工。"
        status, _ = await lead.request(
            "POST", f"/api/tickets/{number}/revisit", json={"satisfied": True, "satisfaction": 2, "note": "市民满意"}
        )
        assert status == 200
        await sim.wait(lambda: [s["status"] for s in sim.statuses_of(no)][-1:] == ["closed"])
        assert [s["status"] for s in sim.statuses_of(no)] == ["accepted", "dispatched", "feedback", "closed"]
        assert sim.refused == 0 and all(k for _, k in sim.deliveries)
        # The lead's figures count it (business clock: the controller's day).
        _, figures = await lead.request("GET", "/api/110/figures")
        assert figures["total"] == {"from_110": 1, "to_110": 0}
    finally:
        await close_all(*desks, dept, lead, sim)


async def test_110_requests_without_a_good_signature_or_with_bad_data_are_refused_and_store_nothing(
    controller: TestServer,
) -> None:
    secret = peer_secret(controller.app[SETTINGS], "110")
    body = {"intake_no": "J202611270099", "content": "测试", "reported_at": "2026-11-27T08:00:00+08:00"}
    raw = json.dumps(body).encode()
    now = time.time()
    cases = [
        ({}, 401, "peer-bad-signature"),  # unsigned
        (signing.headers(b"not-the-secret", raw, now), 401, "peer-bad-signature"),
        (signing.headers(secret, raw, now - 3600), 401, "peer-bad-signature"),  # an hour old: a replay
    ]
    for headers, want, error_id in cases:
        status, answer = await raw_post(controller, "/api/110/incidents", raw, headers)
        assert (status, answer["error_id"]) == (want, error_id), answer
    for field, value in [
        ("longitude", "116.3"),
        ("intake_no", "J 1"),
        ("caller", "１３８"),
        ("content", ""),
        ("reported_at", "2026-11-27 08:00"),
    ]:
        bad = json.dumps({**body, field: value}).encode()
        status, answer = await raw_post(controller, "/api/110/incidents", bad, signing.headers(secret, bad, now))
        assert status == 400 and answer["details"]["field"] == field, answer
    assert await tickets_with(controller, "J202611270099") == 0
    # A result about a ticket never sent to 110.
    res = json.dumps(
        {"ticket": "20261127999999", "intake_no": "J9999", "stage": "received", "at": "2026-11-27T08:00:00+08:00"}
    ).encode()
    status, answer = await raw_post(controller, "/api/110/results", res, signing.headers(secret, res, now))
    assert (status, answer["error_id"]) == (404, "police-unknown-ticket")


async def test_a_110_that_is_down_receives_the_backlog_in_order_when_it_returns(controller: TestServer) -> None:
    sim = await simulator(controller)
    sim.down = True
    try:
        numbers = []
        for n in range(3):
            status, body = await sim.push_incident(
                f"J2026112701{n:02d}", f"第 {n} 件：小区路灯不亮", address="东城区幸福路"
            )
            assert status == 201
            numbers.append(body["ticket"])

        async def attempts() -> int:
            async with controller.app[SESSIONS]() as db:
                return await db.scalar(
                    select(func.count())
                    .select_from(OutboxAttempt)
                    .join(OutboxMessage, OutboxMessage.id == OutboxAttempt.message_id)
                    .where(OutboxMessage.channel == "110", OutboxAttempt.status == 503)
                )

        async def refused_twice() -> bool:
            return await attempts() >= 2

        await eventually(refused_twice, timeout=20)
        assert sim.statuses == {}
        sim.down = False
        await sim.wait(lambda: len(sim.statuses) == 3)
        # In the order the tickets were made; each message once, whatever was retried.
        assert [s["ticket"] for s in sim.statuses.values()] == numbers
        assert len({k for _, k in sim.deliveries}) == len(sim.statuses)

        async def all_delivered() -> bool:
            async with controller.app[SESSIONS]() as db:
                states = (await db.scalars(select(OutboxMessage.state).where(OutboxMessage.channel == "110"))).all()
            return set(states) == {"delivered"}

        await eventually(all_delivered)
    finally:
        await sim.close()


async def test_a_caller_sent_to_110_becomes_an_incident_and_110s_receipt_and_result_reach_the_desk(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    sim = await simulator(controller, receipt_after=0.2, dispatch_after=0.5)
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        await queue_caller(ami, "13912345110")
        pop = await desk.pop()
        number = pop["ticket"]["number"]
        status, _ = await desk.call("PUT", f"/api/tickets/{number}/draft", json={"content": "两人在楼道打架"})
        assert status == 200
        status, body = await desk.call("POST", "/api/desk/call/transfer", json={"number": "110"})
        assert status == 200 and body["ticket"] == number
        await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith("Local/110@sim-pstn"))
        # The incident reached 110, signed, with the caller and a recording link.
        await sim.wait(lambda: len(sim.incidents) == 1)
        incident = next(iter(sim.incidents.values()))
        assert (incident["ticket"], incident["reason"], incident["caller"]) == (number, "transfer", "13912345110")
        link = incident["recording_url"]
        assert link.startswith(str(controller.make_url("/api/110/recordings/")).rstrip("/"))
        # 接警 then 处警 come back: the agent's desk is told each, the ticket keeps both.
        await eventually(lambda: len([f for f in desk.frames if f["type"] == "police"]) == 2, timeout=20)
        frames = [f for f in desk.frames if f["type"] == "police"]
        assert [f["state"] for f in frames] == ["received", "dispatched"]
        assert frames[0]["intake_no"] == incident["intake_no"] and "民警已到场" in frames[1]["result"]
        _, view = await desk.call("GET", f"/api/tickets/{number}")
        police = view["police"][0]
        assert (police["direction"], police["state"], police["intake_no"]) == (
            "out",
            "dispatched",
            incident["intake_no"],
        )
        notes = [h["note"] for h in view["history"] if h["action"] in ("transfer", "police")]
        assert "已向 110 推送警单" in notes[0] and incident["intake_no"] in notes[1] and "处警结果" in notes[2]
        # 110 reporting the same result again changes nothing.
        assert await sim.report(number, incident["intake_no"], "dispatched", "重复") == 200
        _, again = await desk.call("GET", f"/api/tickets/{number}")
        assert len(again["history"]) == len(view["history"]) and again["police"][0]["result"] != "重复"
        # The recording link works for 110 without a login, and not once altered.
        async with aiohttp.ClientSession() as http:

            async def served() -> bool:
                return await _status(http, link) == 200

            await eventually(served, timeout=20)
            altered = link[:-1] + ("0" if link[-1] != "0" else "1")
            assert await _status(http, altered) == 401
            expired = link.split("?")[0] + "?expires=1000&sig=" + link.split("sig=")[1]
            assert await _status(http, expired) == 401
        # A three-way call with 110 on another caller's ticket pushes it too.
        desk.frames.clear()
        await desk.call("POST", "/api/agent/wrapup/end")
        await queue_caller(ami, "13912345111")
        pop2 = await desk.pop()
        status, _ = await desk.call("POST", "/api/desk/call/conference", json={"number": "110"})
        assert status == 200
        await sim.wait(lambda: len(sim.incidents) == 2)
        second = [i for i in sim.incidents.values() if i["ticket"] == pop2["ticket"]["number"]][0]
        assert second["reason"] == "conference"
        _, figures = await lead.request("GET", "/api/110/figures")
        today = figures["days"][dt.date.fromisoformat(pop["ticket"]["created_at"][:10]).day - 1]
        assert figures["total"]["to_110"] == 2 and today["to_110"] >= 1
        # The lead's 110 page, as they see it.
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/police")))
            await sign_in(page, lead.username, lead.password, "/police")
            await page.wait_for_selector("#days tr.total td:nth-child(3):has-text('2')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "police-figures.png"), full_page=True)
            await page.goto(str(controller.make_url(f"/tickets#{number}")))
            await page.wait_for_selector("#police li:has-text('110 已处警')")
            await page.screenshot(path=str(SHOTS / "ticket-police.png"), full_page=True)
    finally:
        await close_all(desk, lead, sim)


async def _status(http: aiohttp.ClientSession, url: str) -> int:
    async with http.get(url) as r:
        await r.read()
        return r.status
