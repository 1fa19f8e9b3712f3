"""The admin's flow editor in a real browser: log in, see the graph, get
validation messages inline; other roles are refused."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in

pytestmark = pytest.mark.pbx


async def make_user(server: TestServer, username: str, role: Role) -> str:
    async with server.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, username, "管理员", [role])
    return password


async def test_admin_edits_the_flow_with_inline_validation_and_graph(controller: TestServer) -> None:
    password = await make_user(controller, "page-admin", Role.ADMIN)
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        await page.goto(base + "admin/ivr")
        assert "/login" in page.url  # not logged in: sent to the login page
        await page.fill("#u", "page-admin")
        await page.fill("#p", password)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/admin/ivr")
        await page.wait_for_selector("#graph svg g.node")
        assert await page.locator("#graph svg g.node").count() == 17
        # No edge label is printed over another.
        overlaps = await page.evaluate(
            """() => { const r = [...document.querySelectorAll('#graph svg > text.elabel')].map(t => t.getBBox());
                       let n = 0;
                       for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
                         if (r[i].x < r[j].x + r[j].width && r[j].x < r[i].x + r[i].width &&
                             r[i].y < r[j].y + r[j].height && r[j].y < r[i].y + r[i].height) n++;
                       return [r.length, n]; }"""
        )
        assert overlaps[0] >= 10 and overlaps[1] == 0, overlaps
        assert await page.locator("#problems").inner_text() == "✔ 校验通过"
        # Passing is said in green, not in the problems' red.
        assert await page.locator("#problems li").evaluate("e => getComputedStyle(e).color") == "rgb(26, 127, 55)"
        assert "当前生效：第" in await page.locator("#current").inner_text()
        # Publishing asks first; what is serving already is not published again as a new version.
        asked: list[str] = []

        async def answer(d: Any) -> None:
            asked.append(d.message)
            await d.accept()

        page.on("dialog", answer)
        await page.click("#publish")
        await page.locator("#status", has_text="无需发布").wait_for()
        assert "新来电立即按这个流程走" in asked[0]

        doc = await page.input_value("#doc")
        await page.fill("#doc", doc.replace('"9": ticket_query', '"9": nowhere', 1))
        await page.click("#validate")
        problem = page.locator("#problems li", has_text="nowhere")
        await problem.wait_for()
        assert await problem.inner_text() == "day_menu：出口（9）指向不存在的节点 'nowhere'"
        assert await page.locator("#graph svg g.node.bad").count() >= 1
        await page.click("#publish")
        await page.locator("#status", has_text="流程未通过校验").wait_for()
        assert len(asked) == 2
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "ivr-editor.png"), full_page=True)


async def test_agent_is_refused_the_editor(controller: TestServer) -> None:
    password = await make_user(controller, "page-agent", Role.AGENT)
    base = str(controller.make_url("/"))
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(base + "login?next=/admin/ivr")
        await sign_in(page, "page-agent", password, "/admin/ivr")
        assert "您的账号无权访问此页面" in await page.content()
