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

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.credentials import ensure_secrets
from hotline.db.models import OutboxMessage, WorkEvent, WorkItem
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.work.api import WORK
from tests.integration.conftest import Clock
from tests.integration.desk import Desk
from tests.integration.floor import acd, iface, takers
from tests.integration.gateway_sim import GatewaySim
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api
from tests.integration.test_ivr import SATURDAY, choose
from tests.integration.test_tickets import department_api

pytestmark = pytest.mark.pbx

NOISE = {"category": "env-noise", "district": "东城区", "address": "幸福路8号",
         "content": "幸福路8号的工地每天夜里十二点后还在打桩施工，噪音很大", "caller": "13900000001"}


async def from_gateway(server: TestServer, channel: str, body: dict[str, Any]) -> dict[str, Any]:
    token = ensure_secrets(server.app[SETTINGS])["gateway_tokens"][channel]
    async with aiohttp.ClientSession() as http, http.post(
            server.make_url("/api/channels/tickets"), json=body,
            headers={"Authorization": f"Bearer {token}"}) as resp:
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


async def offer_to(desk: Desk, ticket: str = "", kind: str = "", timeout: float = 15) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((i for i in offered(desk) if i["state"] == "offered"
                     and (not ticket or i["ticket"] == ticket) and (not kind or i["kind"] == kind)), None)
    return await eventually(find, timeout=timeout)


async def events_of(server: TestServer, item: int) -> list[str]:
    async with server.app[SESSIONS]() as db:
        return [e.action for e in (await db.scalars(select(WorkEvent).where(WorkEvent.item_id == item)
                                                   .order_by(WorkEvent.id))).all()]


async def floor_of(server: TestServer, seats: int, lines: int) -> list[Desk]:
    """Agents at seat01..seatNN, the first `lines` of them on the phone lines."""
    acd(server).set_lines(lines, "lead")
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
        controller: TestServer) -> None:
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
        status, closed = await second.call("POST", f"/api/tickets/{ticket['number']}/submit", json={
            **NOISE, "handling": "answered", "answer": "已通知城管执法队夜间巡查，禁止夜间打桩。"})
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
        controller: TestServer, ami: AMIClient) -> None:
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


async def _takers_with(ami: AMIClient, interface: str) -> set[str] | None:
    now = await takers(ami)
    return now if interface in now else None
