"""User administration as an admin does it in Chromium: create a department
account (one-time password shown once), edit roles, disable a lead whose
seat map is open (the page is disconnected and the lead cannot log in),
enable again, unlock after failed logins; every change in the audit."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.db.models import User
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def _login(server: TestServer, username: str, password: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.post(server.make_url("/api/login"), json={"username": username, "password": password}) as r:
            return r.status, await r.json()


async def test_an_admin_creates_edits_disables_and_enables_people(controller: TestServer) -> None:
    admin = await Api(controller).login_as(Role.ADMIN, "root-admin")
    lead = await Api(controller).login_as(Role.LEAD, "lead-chen")
    agent = await Api(controller).login_as(Role.AGENT, "agent-guess")
    try:
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/admin/users")))
            await sign_in(page, admin.username, admin.password, "/admin/users")
            await page.wait_for_selector("tr[data-user='lead-chen']")
            # A department account: the unit is chosen from the configured ones.
            await page.fill("#cUser", "zjw-li")
            await page.fill("#cName", "李科长")
            await page.uncheck("#cRoles input[value=agent]")
            await page.check("#cRoles input[value=department]")
            await page.click("#create button[type=submit]")
            await page.wait_for_selector("#msg.err:has-text('须选择所属单位')")  # no unit yet: said, nothing made
            await page.select_option("#cUnit", "zjw")
            await page.click("#create button[type=submit]")
            await page.wait_for_selector("#msg.ok:has-text('已新建用户 zjw-li')")
            one_time = (await page.locator("#secretPw").inner_text()).strip()
            row = page.locator("tr[data-user='zjw-li']")
            assert "市住房城乡建设委" in await row.inner_text() and "待改密码" in await row.inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "admin-users.png"), full_page=True)
            status, body = await _login(controller, "zjw-li", one_time)
            assert status == 200 and body["must_change_password"] is True and body["roles"] == ["department"]

            # The lead has the seat map open; the admin makes them an agent as well, then disables them.
            lead_page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await lead_page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(lead_page, lead.username, lead.password, "/lead/seatmap")
            await lead_page.wait_for_selector("#seat-seat01[data-state]")
            await page.click("tr[data-user='lead-chen'] button[data-act=edit]")
            await page.check("#eRoles input[value=agent]")
            await page.fill("#eName", "陈值班长")
            await page.click("#eSave")
            await page.wait_for_selector("tr[data-user='lead-chen'] td:has-text('坐席员、值班长')")
            # New roles mean a new login: the open page was sent to sign in again.
            await lead_page.wait_for_url(lambda url: "/login" in url, timeout=10_000)
            await sign_in(lead_page, lead.username, lead.password, "/lead/seatmap")
            await lead_page.wait_for_selector("#seat-seat01[data-state]")
            page.once("dialog", lambda d: d.accept())
            await page.click("tr[data-user='lead-chen'] button[data-act=disable]")
            await page.wait_for_selector("tr.off[data-user='lead-chen'] .tag.off")
            await lead_page.wait_for_url(lambda url: "/login" in url, timeout=10_000)
            assert (await _login(controller, lead.username, lead.password))[0] == 401
            assert (await lead.request("GET", "/api/acd/figures"))[0] == 401  # the old session is gone too
            await page.click("tr[data-user='lead-chen'] button[data-act=enable]")
            await page.wait_for_selector("tr:not(.off)[data-user='lead-chen']")
            assert (await _login(controller, lead.username, lead.password))[0] == 200

            # Five wrong passwords lock the agent out; the admin sees it and unlocks.
            for _ in range(5):
                assert (await _login(controller, agent.username, "not-the-password"))[0] == 401
            assert (await _login(controller, agent.username, agent.password))[0] == 429
            await page.reload()
            await page.click("tr[data-user='agent-guess'] button[data-act=unlock]")
            await page.wait_for_selector("#msg.ok:has-text('已解除 agent-guess 的登录锁定')")
            assert (await _login(controller, agent.username, agent.password))[0] == 200

            # A reset gives a new one-time password, shown once.
            page.once("dialog", lambda d: d.accept())
            await page.click("tr[data-user='agent-guess'] button[data-act=reset]")
            await page.wait_for_selector("#secretText:has-text('新一次性密码')")
            fresh = (await page.locator("#secretPw").inner_text()).strip()
            assert fresh != agent.password and (await _login(controller, agent.username, agent.password))[0] == 401
            assert (await _login(controller, agent.username, fresh))[0] == 200

            # Every change is in the audit, with who made it; times in the city's time.
            audit = await page.locator("#audit").inner_text()
            for line in ("新建", "角色 值班长 → 坐席员、值班长", "停用", "启用", "解除锁定", "重置密码"):
                assert line in audit, line
            assert audit.count("root-admin") >= 6
            await page.screenshot(path=str(SHOTS / "admin-users-audit.png"), full_page=True)
        async with controller.app[SESSIONS]() as db:
            row = (await db.scalars(select(User).where(User.username == "lead-chen"))).one()
            assert row.display_name == "陈值班长" and row.last_login_at is not None
    finally:
        await admin.close()
        await lead.close()
        await agent.close()


async def test_the_last_admin_and_bad_input_are_refused(controller: TestServer) -> None:
    admin = await Api(controller).login_as(Role.ADMIN, "only-admin")
    lead = await Api(controller).login_as(Role.LEAD, "not-an-admin")
    try:
        # Only admins administer.
        assert (await lead.request("GET", "/api/admin/users"))[0] == 403
        assert (await lead.request("POST", "/api/admin/users/only-admin/disable"))[0] == 403
        # Nobody locks the house: not oneself, not the last admin (the others earlier tests made are disabled).
        _, listed = await admin.request("GET", "/api/admin/users")
        for u in listed["users"]:
            if "admin" in u["roles"] and u["active"] and u["username"] != "only-admin":
                assert (await admin.request("POST", f"/api/admin/users/{u['username']}/disable"))[0] == 200
        status, err = await admin.request("POST", "/api/admin/users/only-admin/disable")
        assert (status, err["error_id"]) == (409, "user-refused")
        status, err = await admin.request("PATCH", "/api/admin/users/only-admin", json={"roles": ["lead"]})
        assert (status, err["error_id"]) == (409, "user-refused") and "最后一个" in err["message"]
        # Exact types and known values only.
        for body, field in (
            ({"username": "x1", "display_name": "某", "roles": "agent"}, "roles"),
            ({"username": "x1", "display_name": "某", "roles": ["boss"]}, "roles"),
            ({"username": "x1", "display_name": "某", "roles": ["grid"], "department": "nosuch"}, "department"),
            ({"username": "public", "display_name": "某", "roles": ["agent"]}, "username"),
            ({"username": "x 1", "display_name": "某", "roles": ["agent"]}, "username"),
        ):
            status, err = await admin.request("POST", "/api/admin/users", json=body)
            assert status == 400 and err["details"]["field"] == field, (body, err)
        assert (await admin.request("POST", "/api/admin/users/nobody-here/enable"))[0] == 404
        _, listed = await admin.request("GET", "/api/admin/users")
        assert {u["username"] for u in listed["users"]} >= {"only-admin", "not-an-admin"}
        assert not [u for u in listed["users"] if u["username"] in ("x1", "public")]
    finally:
        await admin.close()
        await lead.close()


async def test_a_department_account_with_no_unit_cannot_be_made(controller: TestServer) -> None:
    admin = await Api(controller).login_as(Role.ADMIN, "unit-admin")
    try:
        status, err = await admin.request(
            "POST", "/api/admin/users", json={"username": "dept-x", "display_name": "某局", "roles": ["department"]}
        )
        assert (status, err["details"]["field"]) == (400, "department")
        status, made = await admin.request(
            "POST",
            "/api/admin/users",
            json={"username": "dept-x", "display_name": "某局", "roles": ["department"], "department": "zjw"},
        )
        assert status == 201 and made["user"]["department_text"] == "市住房城乡建设委" and len(made["password"]) >= 10
    finally:
        await admin.close()
