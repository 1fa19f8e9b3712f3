"""A login's end ends everything it opened: live pages (websockets) close on
logout, on expiry and when the password changes; a password change ends the
person's other logins; sockets are capped per person; every role that logs
in may see itself, change its password and log out."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from hotline.db.models import WebSession
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def _snapshot(ws: aiohttp.ClientWebSocketResponse) -> dict:
    msg = await ws.receive(timeout=10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return msg.json()


async def _closed_with(ws: aiohttp.ClientWebSocketResponse, code: int, timeout: float) -> None:
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type == aiohttp.WSMsgType.CLOSE:
            assert msg.data == code, msg
            return
        assert msg.type == aiohttp.WSMsgType.TEXT, msg  # frames until the close, never an error


async def _second_login(controller: TestServer, first: Api) -> Api:
    again = Api(controller)
    again.username, again.password = first.username, first.password
    async with again.http.post(
        controller.make_url("/api/login"), json={"username": first.username, "password": first.password}
    ) as r:
        assert r.status == 200
    return again


async def test_live_pages_close_when_their_login_ends_by_logout_or_expiry(controller: TestServer) -> None:
    """Before: 24 seat-map frames reached a browser in the 24 s after its
    logout; a desk socket lived 45 s past its session's expiry."""
    lead = await Api(controller).login_as(Role.LEAD)
    other = await _second_login(controller, lead)
    url = controller.make_url("/ws/seatmap")
    try:
        ws = await lead.http.ws_connect(url, origin=lead.origin)
        stays = await other.http.ws_connect(url, origin=other.origin)
        assert "seats" in await _snapshot(ws) and "seats" in await _snapshot(stays)
        assert (await lead.request("POST", "/api/logout"))[0] == 200
        await _closed_with(ws, 4001, timeout=5)
        assert not stays.closed  # another login of the same person is not ended by this one's logout
        # The other login expires (idle): its page closes within the sweep, unasked.
        async with controller.app[SESSIONS]() as db, db.begin():
            await db.execute(
                update(WebSession).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
            )
        await _closed_with(stays, 4001, timeout=20)
        assert (await other.request("GET", "/api/me"))[0] == 401
    finally:
        await lead.close()
        await other.close()


async def test_a_password_change_ends_the_persons_other_logins_and_their_pages(controller: TestServer) -> None:
    """Before: the other sessions stayed valid after a password change."""
    agent = await Api(controller).login_as(Role.AGENT)
    thief = await _second_login(controller, agent)
    url = controller.make_url("/ws/desk")
    try:
        mine = await agent.http.ws_connect(url, origin=agent.origin)
        theirs = await thief.http.ws_connect(url, origin=thief.origin)
        await _snapshot(mine)
        await _snapshot(theirs)
        status, _ = await agent.request(
            "POST", "/api/me/password", json={"current_password": agent.password, "new_password": "a-new-long-password"}
        )
        assert status == 200
        await _closed_with(theirs, 4001, timeout=5)
        assert (await thief.request("GET", "/api/me"))[0] == 401
        # The person who changed it carries on, page and all.
        assert (await agent.request("GET", "/api/me"))[0] == 200 and not mine.closed
        await mine.close()
    finally:
        await agent.close()
        await thief.close()


async def test_websockets_are_capped_per_person_over_all_their_logins(controller: TestServer) -> None:
    """Before: the cap was per login, so five logins opened twenty sockets."""
    web_cfg = controller.app[SETTINGS].web
    lead = await Api(controller).login_as(Role.LEAD)
    logins = [lead] + [await _second_login(controller, lead) for _ in range(2)]
    url = controller.make_url("/ws/seatmap")
    opened: list[aiohttp.ClientWebSocketResponse] = []
    try:
        for i in range(web_cfg.max_websockets_per_user):
            api = logins[i // web_cfg.max_websockets_per_session]
            opened.append(await api.http.ws_connect(url, origin=api.origin))
        last = logins[-1]
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await last.http.ws_connect(url, origin=last.origin)
        assert info.value.status == 429
    finally:
        for ws in opened:
            await ws.close()
        for api in logins:
            await api.close()


async def test_a_leader_sees_themself_changes_their_password_and_logs_out(controller: TestServer) -> None:
    """Before: 403 on /api/me, /api/me/password and /api/logout for a leader."""
    leader = await Api(controller).login_as(Role.LEADER)
    try:
        status, me = await leader.request("GET", "/api/me")
        assert status == 200 and me["roles"] == ["leader"]
        status, _ = await leader.request(
            "POST",
            "/api/me/password",
            json={"current_password": leader.password, "new_password": "leaders-own-password"},
        )
        assert status == 200
        assert (await leader.request("POST", "/api/logout"))[0] == 200
        assert (await leader.request("GET", "/api/me"))[0] == 401
    finally:
        await leader.close()
