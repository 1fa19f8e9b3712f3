"""Who may read and add what, at the edges the second security round found:
photos per ticket hold under concurrent uploads, patrol reports are limited,
names the hotline acts under cannot be accounts, an agent reads only their
own car-moving bindings, and a confidential caller is neither confirmed by
a number search nor readable in a masked ticket."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from hotline import accounts
from hotline.db.models import CarmoveBinding, Ticket, TicketPhoto
from hotline.grid.api import PHOTOS
from hotline.roles import Role
from hotline.tickets.api import STORE
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.ivr_helpers import Api
from tests.integration.test_grid import grid_worker, png, upload
from tests.integration.test_tickets import department_api

pytestmark = pytest.mark.pbx


async def _ticket(server: TestServer, **fields: object) -> str:
    store = server.app[STORE]
    form = {
        "content": "楼下烧烤店油烟很大",
        "district": "东城区",
        "address": "幸福路 3 号",
        "caller": "13911112222",
        **{k: v for k, v in fields.items() if k in ("content", "caller", "address", "district")},
    }
    async with store.tx() as db:
        t = await store.insert(db, "web", str(fields.get("agent", "taker")), form, classified=False, suspects=[])
        for k in ("confidential", "department", "status"):
            if k in fields:
                setattr(t, k, fields[k])
        return t.number


async def test_concurrent_uploads_never_pass_the_photo_cap(controller: TestServer) -> None:
    """Before: twelve uploads at once to a ticket holding fifteen made 27."""
    cap = controller.app[SETTINGS].grid.photos_per_ticket
    lead = await Api(controller).login_as(Role.LEAD)
    number = await _ticket(controller)
    try:
        async with controller.app[SESSIONS]() as db, db.begin():
            t = (await db.scalars(select(Ticket).where(Ticket.number == number))).one()
            for i in range(cap - 5):
                db.add(
                    TicketPhoto(
                        ticket_id=t.id,
                        file=f"old-{i}.png",
                        content_type="png",
                        size=1,
                        sha256="0",
                        uploaded_by="x",
                        at=dt.datetime.now(dt.timezone.utc),
                    )
                )
        results = await asyncio.gather(*(upload(lead, number, png()) for _ in range(12)))
        statuses = sorted(s for s, _ in results)
        assert statuses == [201] * 5 + [400] * 7, statuses
        async with controller.app[SESSIONS]() as db:
            assert await db.scalar(select(func.count()).select_from(TicketPhoto)) == cap
        kept = list(controller.app[PHOTOS].folder.glob(f"{number}-*"))
        assert len(kept) == 5  # the refused uploads left no file behind
    finally:
        # The photo folder is the session's; ticket numbers restart with each test's database.
        for f in controller.app[PHOTOS].folder.glob(f"{number}-*"):
            f.unlink()
        await lead.close()


async def test_patrol_reports_are_limited_per_worker(controller: TestServer) -> None:
    limit = controller.app[SETTINGS].grid.reports_per_hour
    worker = await grid_worker(controller, "xingfu", "grid-busy")
    try:
        for i in range(limit):
            status, _ = await worker.request(
                "POST", "/api/grid/reports", json={"content": f"巡查发现问题 {i}", "address": "幸福路 3 号"}
            )
            assert status == 201
        status, err = await worker.request(
            "POST", "/api/grid/reports", json={"content": "再报一件", "address": "幸福路 3 号"}
        )
        assert (status, err["error_id"]) == (429, "public-throttled") and err["details"]["retry_after"] > 0
    finally:
        await worker.close()


async def test_the_names_the_hotline_acts_under_cannot_be_accounts(controller: TestServer) -> None:
    """Before: an account named `public` read every untaken public-intake ticket."""
    async with controller.app[SESSIONS]() as db, db.begin():
        for name in ("public", "System", "survey"):
            with pytest.raises(accounts.AccountError) as info:
                await accounts.create_user(db, name, name, [Role.AGENT])
            assert "保留" in str(info.value)
        await accounts.create_user(db, "publicity", "宣传", [Role.AGENT])  # only the exact names


async def test_an_agent_reads_only_the_car_moving_bindings_they_asked_for(controller: TestServer) -> None:
    """Before: any agent read any binding by its sequential id."""
    mine = await Api(controller).login_as(Role.AGENT, "asked-for-it")
    other = await Api(controller).login_as(Role.AGENT, "curious")
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        now = dt.datetime.now(dt.timezone.utc)
        async with controller.app[SESSIONS]() as db, db.begin():
            b = CarmoveBinding(
                x="02160000001",
                requester="13900000001",
                owner="13700000001",
                plate="京A12345",
                location="幸福路",
                agent="asked-for-it",
                ticket_number="",
                state="bridged",
                created_at=now,
                expires_at=now + dt.timedelta(minutes=30),
            )
            db.add(b)
            await db.flush()
            binding = b.id
        assert (await mine.request("GET", f"/api/carmove/{binding}"))[0] == 200
        status, err = await other.request("GET", f"/api/carmove/{binding}")
        assert (status, err["error_id"]) == (404, "carmove-unregistered")
        assert (await other.request("GET", f"/api/carmove/{binding + 1}"))[0] == 404  # same answer as a missing one
        assert (await lead.request("GET", f"/api/carmove/{binding}"))[0] == 200
    finally:
        for api in (mine, other, lead):
            await api.close()


async def test_a_confidential_caller_is_not_confirmed_by_a_search_nor_readable_when_masked(
    controller: TestServer,
) -> None:
    """Before: ?caller= confirmed a confidential caller to any agent, and the
    masked view left what they said readable."""
    taker = await Api(controller).login_as(Role.AGENT, "taker")
    other = await Api(controller).login_as(Role.AGENT, "another-agent")
    lead = await Api(controller).login_as(Role.LEAD)
    dept = await department_api(controller, "housing")
    try:
        secret = await _ticket(
            controller,
            caller="13955556666",
            confidential=True,
            agent="taker",
            content="我是举报人张三，举报邻居违建",
            department="housing",
            status="dispatched",
        )
        plain = await _ticket(controller, caller="13955556666", agent="someone-else")
        for api, expected in ((taker, {secret, plain}), (lead, {secret, plain}), (other, {plain})):
            _, found = await api.request("GET", "/api/tickets", params={"caller": "13955556666"})
            assert {t["number"] for t in found["tickets"]} == expected, api.username
        _, seen = await other.request("GET", f"/api/tickets/{secret}")
        assert seen["masked"] and "张三" not in str(seen) and "13955556666" not in str(seen)
        _, handled = await dept.request("GET", f"/api/tickets/{secret}")
        assert "张三" in handled["content"] and handled["caller"] == "139****6666"  # the unit acts on it
        _, own = await taker.request("GET", f"/api/tickets/{secret}")
        assert not own["masked"] and own["caller"] == "13955556666"
    finally:
        for api in (taker, other, lead, dept):
            await api.close()
