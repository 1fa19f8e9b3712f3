"""Overflow against the real PBX: at night (2 lines), with agents in ticket
work and both lines talking, a burst of callers brings the agents in ticket
work onto the lines — the one holding nothing first, then the least urgent
item — their items parked; every pull and release is in the audit and on
the seat map; once the queue has been calm they go back and the parked
items are offered again. The lead can keep an agent off overflow."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import OverflowSettings
from hotline.db.models import AcdEvent
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.desk import Desk
from tests.integration.floor import acd, iface, queue_caller, takers
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api
from tests.integration.test_work import NOISE, close_all, events_of, floor_of, from_gateway, offer_to, offered

pytestmark = pytest.mark.pbx


async def audit(server: TestServer, kind: str) -> list[str]:
    await acd(server).drain()  # the ACD stores its audit in batches, as its own readers wait for
    async with server.app[SESSIONS]() as db:
        rows = (await db.scalars(select(AcdEvent).where(AcdEvent.kind == kind).order_by(AcdEvent.id))).all()
        return [r.seat for r in rows]


def talking(server: TestServer, *seats: str) -> bool:
    return all(acd(server).floor.seats[s].talking for s in seats)


async def test_a_night_burst_pulls_agents_from_ticket_work_and_calm_sends_them_back(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    service = acd(controller)
    service.acd = service.acd.model_copy(update={"overflow": OverflowSettings(calm_seconds=30, min_stay_seconds=60)})
    desks = await floor_of(controller, 6, lines=2)  # night: seat01-02 on the lines, 03-06 in ticket work
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        # seat03 takes an intake (priority 2), seat04 a revisit-like later item; seat05 holds nothing.
        items = {}
        for desk in desks[2:4]:
            ticket = await from_gateway(controller, "app", {**NOISE, "caller": f"1390000{desk.seat[-2:]}11"})
            item = await offer_to(desk, ticket["number"])
            assert (await desk.call("POST", f"/api/work/{item['id']}/accept"))[0] == 200
            items[desk.seat] = item
        await eventually(lambda: all(service.floor.seats[s].working for s in ("seat03", "seat04")))
        # The lead keeps seat06's agent off overflow.
        status, _ = await lead.request("PUT", f"/api/acd/overflow/{desks[5].username}", json={"allowed": False})
        assert status == 200
        # Both lines talking.
        for _ in range(2):
            await queue_caller(ami)
        await eventually(lambda: talking(controller, "seat01", "seat02"), timeout=30)
        assert service.overflow.pulled == ()
        # A burst of three callers, no line free: the 15-second target is at risk at once.
        burst = [await queue_caller(ami) for _ in range(3)]
        await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == burst[0], timeout=20)
        at_risk = time.monotonic()
        first = await recorder.wait_for(
            ev.AgentCalled, lambda e: e.interface in {iface(3), iface(4), iface(5)}, timeout=30
        )
        print(
            f"overflow: target at risk -> a pulled agent's phone offered a call in {time.monotonic() - at_risk:.2f} s"
        )
        # Seat05 (nothing in hand) first, then the two with items; never seat06 (the lead's choice).
        pulled = [p.seat for p in service.overflow.pulled]
        assert pulled[0] == "seat05" and set(pulled) == {"seat03", "seat04", "seat05"}, pulled
        assert first.interface in {iface(3), iface(4), iface(5)}
        assert not service.floor.seats["seat06"].on_line
        for n in (3, 4, 5):
            await recorder.wait_for(ev.AgentConnect, lambda e, n=n: e.interface == iface(n), timeout=30)
        # Their items went back to the queue, parked, not lost.
        for seat in ("seat03", "seat04"):
            assert "parked" in await events_of(controller, items[seat]["id"])
        assert sorted(await audit(controller, "overflow-pull")) == ["seat03", "seat04", "seat05"]
        # The lead's seat map names them.
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.wait_for_selector("#seat-seat05.pulled:has-text('溢出支援')")
            assert await page.locator(".seat.pulled").count() == 3
            assert await page.inner_text("#overflow") == "3"
            await page.wait_for_selector("#seat-seat06 button:has-text('允许溢出')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-overflow.png"))
            # Calm: every call ends, nobody waits; after the calm time and the minimum stay they go back.
            await ami.action("Hangup", Channel="/^Local.s@hotline-fallback-/")
            await eventually(lambda: not any(s.talking for s in service.floor.seats.values()), timeout=30)
            service.clock.now += dt.timedelta(seconds=61)
            await eventually(lambda: service.overflow.calm_since is not None, timeout=10)
            service.clock.now += dt.timedelta(seconds=31)
            await eventually(lambda: service.overflow.pulled == (), timeout=10)
            await eventually(lambda: not any(service.floor.seats[f"seat0{n}"].on_line for n in (3, 4, 5)))
            await page.wait_for_selector(".seat.pulled", state="detached")
        assert sorted(await audit(controller, "overflow-release")) == ["seat03", "seat04", "seat05"]
        assert await eventually(lambda: _not_takers(ami, {iface(3), iface(4), iface(5)}), timeout=15)
        # The parked items are offered again to agents in ticket work.
        for seat in ("seat03", "seat04"):
            number = items[seat]["ticket"]
            await eventually(lambda number=number: _offered_anyone(desks[2:], number), timeout=20)
    finally:
        await ami.action("Hangup", Channel="/^Local.s@hotline-fallback-/")
        await close_all(*desks, lead)


async def _not_takers(ami: AMIClient, interfaces: set[str]) -> bool:
    return not (await takers(ami)) & interfaces


def _offered_anyone(desks: list[Desk], number: str) -> bool:
    return any(i["ticket"] == number and i["state"] in ("offered", "accepted") for d in desks for i in offered(d))
