"""The roster against the real floor: a day of five shifts, entered on the
API and from an XLSX file, with one agent late, one absent and one leaving
early; the seat map's adherence (Chromium) names the late agent and the one
logged in off the roster, and the month's attendance (JSON, CSV, XLSX) says
exactly what happened."""

from __future__ import annotations

import csv
import datetime as dt
import io

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from openpyxl import Workbook, load_workbook

from hotline import accounts
from hotline.acd.api import ACD
from hotline.roles import Role
from hotline.web.keys import SESSIONS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import SHANGHAI, Clock
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx

DAY = dt.date(2026, 11, 25)
AGENTS = {"r-zhang": "张早", "r-li": "李白", "r-wang": "王中", "r-zhao": "赵晚", "r-sun": "孙夜", "r-temp": "临时工"}


def at(h: int, m: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


def xlsx(rows: list[tuple[str, str, str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["日期", "班次", "坐席账号"])
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def test_a_day_of_five_shifts_with_a_late_an_absent_and_an_early_leaver(
    controller: TestServer, clock: Clock
) -> None:
    acd = controller.app[ACD]
    async with controller.app[SESSIONS]() as db, db.begin():
        for name, display in AGENTS.items():
            await accounts.create_user(db, name, display, [Role.AGENT])
        _, lead_pw = await accounts.create_user(db, "r-lead", "排班组长", [Role.LEAD])
    lead = Api(controller)
    lead.username, lead.password = "r-lead", lead_pw
    async with lead.http.post(controller.make_url("/api/login"), json={"username": "r-lead", "password": lead_pw}) as r:
        assert r.status == 200
    clock.now = at(6, 0)
    try:
        # Three shifts on the API (one by its Chinese name), two from a spreadsheet.
        rows = [
            {"day": "2026-11-25", "shift": "A", "agent": "r-zhang"},
            {"day": "2026-11-25", "shift": "白班", "agent": "r-li"},
            {"day": "2026-11-25", "shift": "C", "agent": "r-wang"},
        ]
        status, got = await lead.request("POST", "/api/roster", json={"rows": rows})
        assert status == 201 and got["added"] == 3, got
        bad = [{"day": "2026-11-25", "shift": "Z", "agent": "nobody"}]
        status, err = await lead.request("POST", "/api/roster", json={"rows": bad})
        assert status == 400 and "没有班次" in err["message"] and "nobody" in err["message"]
        form = aiohttp.FormData()
        form.add_field(
            "file",
            io.BytesIO(xlsx([("2026-11-25", "晚班", "r-zhao"), ("2026-11-25", "N", "r-sun")])),
            filename="week.xlsx",
        )
        async with lead.http.post(
            controller.make_url("/api/roster/import"), data=form, headers={"Origin": lead.origin}
        ) as r:
            assert r.status == 201, await r.text()
            assert (await r.json())["added"] == 2
        _, week = await lead.request("GET", "/api/roster?from=2026-11-23")
        assert [(e["shift_name"], e["agent_name"]) for e in week["entries"]] == [
            ("早班", "张早"),
            ("白班", "李白"),
            ("中班", "王中"),
            ("晚班", "赵晚"),
            ("夜班", "孙夜"),
        ]
        # The day as it happens, on the floor.
        clock.now = at(6, 55)
        await acd.login("seat01", "r-zhang", "张早")
        clock.now = at(8, 45)  # 李白 is due since 08:30 and not here; a temp logs in off the roster
        await acd.login("seat05", "r-temp", "临时工")
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/lead/seatmap")))
            await sign_in(page, "r-lead", lead_pw, "/lead/seatmap")
            await page.wait_for_selector("#adherence:has-text('迟到未登录：李白')", timeout=20000)
            text = await page.inner_text("#adherence")
            assert "早班 1/1" in text and "白班 0/1" in text and "非排班登录：临时工" in text, text
            box = await page.locator("#adherence").bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900  # above the fold
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-adherence.png"))
            clock.now = at(8, 52)
            await acd.login("seat02", "r-li", "李白")
            clock.now = at(12, 2)
            await acd.logout("seat01", "r-zhang")
            await acd.logout("seat05", "r-temp")
            clock.now = at(16, 58)
            await acd.login("seat03", "r-zhao", "赵晚")
            clock.now = at(17, 31)
            await acd.logout("seat02", "r-li")
            clock.now = at(19, 0)
            await acd.logout("seat03", "r-zhao")  # four and a half hours early
            clock.now = at(22, 59)
            await acd.login("seat04", "r-sun", "孙夜")
            clock.now = at(23, 45)
            await acd.drain()
            # The roster page: the week and the month's attendance.
            roster = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await roster.goto(str(controller.make_url("/lead/roster")))
            await sign_in(roster, "r-lead", lead_pw, "/lead/roster")
            await roster.fill("#month", "2026-11")
            await roster.dispatch_event("#month", "change")
            await roster.wait_for_selector("#attendance tr.absent:has-text('r-wang')")
            await roster.wait_for_selector("#week td[data-day='2026-11-25'][data-shift='B'] .need:has-text('已排 1')")
            assert "小休 10%" in await roster.inner_text("#needInfo")
            await roster.screenshot(path=str(SHOTS / "roster.png"), full_page=True)
        _, need = await lead.request("GET", "/api/roster/need?from=2026-11-25&days=1")
        assert {c["shift"]: c["rostered"] for c in need["cells"]} == {"A": 1, "B": 1, "C": 1, "D": 1, "N": 1}
        assert all(c["need"] == need["per_shift"][c["shift"]] for c in need["cells"])
        assert need["short"] == [c for c in need["cells"] if c["rostered"] < c["need"]]
        _, month = await lead.request("GET", "/api/roster/attendance?month=2026-11")
        said = {r["agent"]: (r["text"], r["late_minutes"], r["early_minutes"]) for r in month["rows"]}
        assert said == {
            "r-zhang": ("准时", 0, 0),
            "r-li": ("迟到", 22, 0),
            "r-wang": ("缺勤", 0, 0),
            "r-zhao": ("早退", 0, 270),
            "r-sun": ("在岗中", 0, 0),
        }, said
        # The payroll clerk's files say the same.
        async with lead.http.get(controller.make_url("/api/roster/attendance?month=2026-11&format=xlsx")) as r:
            assert r.status == 200 and "attendance-2026-11.xlsx" in r.headers["Content-Disposition"]
            ws = load_workbook(io.BytesIO(await r.read())).worksheets[0]
        table = [[c.value for c in row] for row in ws.iter_rows()]
        assert table[0][:4] == ["日期", "班次", "坐席账号", "考勤"]
        assert ["2026-11-25", "白班", "r-li", "迟到"] == table[2][:4] and table[2][6] == 22
        async with lead.http.get(controller.make_url("/api/roster/attendance?month=2026-11&format=csv")) as r:
            lines = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        assert ["2026-11-25", "中班", "r-wang", "缺勤"] == lines[3][:4]
    finally:
        for seat in ("seat01", "seat02", "seat03", "seat04", "seat05"):
            if acd.seat_named(seat).agent:
                await acd.logout(seat, "test")
        await lead.close()


async def test_a_swap_an_agent_asks_for_and_the_lead_approves_changes_the_next_days_roster(
    controller: TestServer, clock: Clock
) -> None:
    clock.now = at(10, 0)
    async with controller.app[SESSIONS]() as db, db.begin():
        _, zhou_pw = await accounts.create_user(db, "s-zhou", "周一", [Role.AGENT])
        await accounts.create_user(db, "s-wu", "吴二", [Role.AGENT])
        _, lead_pw = await accounts.create_user(db, "s-lead", "调班组长", [Role.LEAD])
    lead = Api(controller)
    async with lead.http.post(controller.make_url("/api/login"), json={"username": "s-lead", "password": lead_pw}) as r:
        assert r.status == 200
    zhou = Api(controller)
    async with zhou.http.post(controller.make_url("/api/login"), json={"username": "s-zhou", "password": zhou_pw}) as r:
        assert r.status == 200
    tomorrow = (DAY + dt.timedelta(days=1)).isoformat()
    try:
        rows = [{"day": tomorrow, "shift": "B", "agent": "s-zhou"}, {"day": tomorrow, "shift": "D", "agent": "s-wu"}]
        assert (await lead.request("POST", "/api/roster", json={"rows": rows}))[0] == 201
        _, mine = await zhou.request("GET", "/api/roster/mine")
        own = next(e for e in mine["entries"] if e["mine"])
        theirs = next(e for e in mine["entries"] if e["agent"] == "s-wu")
        # Not someone else's shift to give away.
        status, err = await zhou.request(
            "POST", "/api/roster/swaps", json={"entry": theirs["id"], "with_agent": "s-wu"}
        )
        assert status == 409 and err["error_id"] == "swap-refused"
        async with chromium() as browser:
            # 周一 asks on their page: their day shift for 吴二's evening shift.
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await page.goto(str(controller.make_url("/roster")))
            await sign_in(page, "s-zhou", zhou_pw, "/roster")
            await page.wait_for_selector("#with option[value='s-wu']", state="attached")
            await page.select_option("#mine", str(own["id"]))
            await page.select_option("#with", "s-wu")
            await page.select_option("#theirs", str(theirs["id"]))
            await page.fill("#note", "家里有事")
            await page.click("#ask button[type=submit]")
            await page.wait_for_selector("#swaps td:has-text('待审批')")
            # The lead approves on the roster page.
            roster = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await roster.goto(str(controller.make_url("/lead/roster")))
            await sign_in(roster, "s-lead", lead_pw, "/lead/roster")
            await roster.wait_for_selector("#swaps tr:has-text('家里有事') button:text-is('批准')")
            await roster.click("#swaps tr:has-text('家里有事') button:text-is('批准')")
            await roster.wait_for_selector("#swaps tr:has-text('家里有事'):has-text('已批准')")
            await roster.screenshot(path=str(SHOTS / "roster-swap.png"), full_page=True)
        _, week = await lead.request("GET", f"/api/roster?from={tomorrow}&days=1")
        assert {(e["shift"], e["agent"]) for e in week["entries"]} == {("B", "s-wu"), ("D", "s-zhou")}
        # Decided once: a second decision is refused.
        _, listed = await lead.request("GET", "/api/roster/swaps")
        done = next(s for s in listed["swaps"] if s["note"] == "家里有事")
        status, err = await lead.request("POST", f"/api/roster/swaps/{done['id']}/refuse", json={})
        assert status == 409 and "已批准" in err["message"]
    finally:
        await lead.close()
        await zhou.close()
