"""Leaders' briefings against the real controller and PBX: a seeded month
gives the planted hot topic, the repeat problem and the departments' record
in the page and the PDF (rendered with pdftoppm, read with pdftotext); a
call answered today shows in today's briefing with the seat map's figures,
while the leader who reads it can read neither the caller's number nor the
ticket; the schedule makes each due briefing once."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline import accounts
from hotline.ami.client import AMIClient
from hotline.briefings.api import SCHEDULE
from hotline.config import Settings
from hotline.db.models import Briefing, Ticket, TicketEvent
from hotline.roles import Role
from hotline.server import KEEPER, create_app
from hotline.web.keys import SESSIONS
from tests import briefing_month as bm
from tests.conftest import Clock
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.desk import Desk
from tests.integration.floor import acd, queue_caller
from tests.integration.helpers import eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx

HEADINGS = ["一、受理总体情况", "二、热点问题", "三、重复诉求", "四、承办单位办理情况", "五、热线运行情况"]


async def _seed(server: TestServer) -> bm.Seeded:
    seeded = bm.month()
    async with server.app[SESSIONS]() as db, db.begin():
        await accounts.create_user(db, "jtw-clerk", "交通委办事员", [Role.DEPARTMENT], department="jtw")
        rows = [Ticket(**row) for row in seeded.tickets]
        db.add_all(rows)
        await db.flush()
        for k, action, _unit, at in seeded.events:
            db.add(
                TicketEvent(
                    ticket_id=rows[k].id,
                    at=at,
                    actor="jtw-clerk",
                    action=action,
                    from_status="dispatched",
                    to_status="returned",
                    note="不属于本单位职责",
                )
            )
    return seeded


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "briefing.pdf"
    path.write_bytes(pdf)
    # pdftoppm draws page 1: the PDF opens and renders.
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "--", str(path), str(tmp / "page")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = list(tmp.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 5000, pages
    return subprocess.run(
        ["pdftotext", "-layout", "--", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()


async def test_a_seeded_month_gives_the_planted_topic_repeats_and_departments_in_page_and_pdf(
    controller: TestServer, tmp_path: Path
) -> None:
    seeded = await _seed(controller)
    leader = await Api(controller).login_as(Role.LEADER)
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        status, made = await leader.request("POST", "/api/briefings", json={"kind": "weekly", "day": "2026-11-18"})
        assert status == 201, made
        assert (made["title"], made["total"], made["scheduled"]) == ("2026年11月16日至11月22日", 38, False)
        _, full = await leader.request("GET", f"/api/briefings/{made['id']}")
        b = full["contents"]
        # The planted topic first, linked to exactly its eight tickets; no everyday topic is hot.
        top = b["hot_topics"][0]
        assert top["term"] == "共享单车" or "共享单车" in top["related"], b["hot_topics"]
        assert sorted(t["number"] for t in top["tickets"]) == seeded.bikes
        routine = {t["number"] for topic in b["hot_topics"] for t in topic["tickets"] if t["number"].startswith("R")}
        assert not routine, b["hot_topics"]
        assert [(r["place"], r["count"]) for r in b["repeats"]] == [("长江路**号", 4)]
        assert [t["number"] for t in b["repeats"][0]["tickets"]] == seeded.repeats
        depts = {d["code"]: d for d in b["departments"]}
        assert (depts["sthj"]["due"], depts["sthj"]["on_time"], depts["sthj"]["late"]) == bm.ON_TIME_STHJ
        assert depts["sthj"]["satisfaction_rate"] == bm.SATISFIED_STHJ and depts["sthj"]["redispatches"] == 1
        assert depts["jtw"]["returns"] == bm.RETURNS_JTW
        assert b["volumes"]["previous_total"] == 23  # the week before: 21 routine, 2 later closed in this one

        # The page: ticket numbers open tickets for the lead, not for the leader.
        status, html = await lead.request("GET", f"/briefings/{made['id']}")
        assert status == 200 and f'href="/tickets#{seeded.bikes[0]}"' in html
        status, html = await leader.request("GET", f"/briefings/{made['id']}")
        assert status == 200 and all(h in html for h in HEADINGS) and "/tickets#" not in html
        # The PDF: renders, and its text has the Chinese headings and the topic.
        async with leader.http.get(controller.make_url(f"/briefings/{made['id']}/pdf")) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
            pdf = await r.read()
        text = await asyncio.to_thread(_pdf_text, pdf, tmp_path)
        for heading in HEADINGS:
            assert heading in text, heading
        assert "共享单车" in text and "市生态环境局" in text
        # Nothing personal anywhere: every seeded ticket has a caller and a name.
        for body in (html, str(full), text):
            assert "13912345678" not in body and "王小明" not in body and "长江路88号" not in body
            # Before: what was typed after the place went to leaders as typed.
            assert "13987654321" not in body and "王建国" not in body

        _, listed = await leader.request("GET", "/api/briefings?kind=weekly")
        assert [x["id"] for x in listed["briefings"]] == [made["id"]]
        for bad in (
            {"kind": "yearly"},
            {"kind": "daily", "day": "2026-13-01"},
            {"kind": "daily", "day": 20261118},
            {"kind": "daily", "day": "2027-01-01"},
            {"kind": ["daily"]},
        ):
            status, body = await leader.request("POST", "/api/briefings", json=bad)
            assert status == 400 and body["error_id"] == "bad-request", (bad, body)
        for path in ("/briefings/999", "/briefings/x1", "/api/briefings/999"):
            assert (await leader.request("GET", path))[0] == 404, path

        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/briefings")))
            await sign_in(page, leader.username, leader.password, "/briefings")
            await page.wait_for_selector("text=2026年11月16日至11月22日")
            row = await page.inner_text("#rows")
            assert "共享单车" in row and "2026-11-25 10:00" in row, row  # made at 10:00 city time
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "briefings-archive.png"), full_page=True)
            await page.click("a:text('周报')")
            await page.wait_for_selector("text=二、热点问题")
            await page.screenshot(path=str(SHOTS / "briefing-weekly.png"), full_page=True)
    finally:
        await leader.close()
        await lead.close()


async def test_todays_briefing_has_the_answered_call_and_the_leader_cannot_read_the_caller(
    controller: TestServer, ami: AMIClient
) -> None:
    desk = await Desk(controller, "seat01").start()
    leader = await Api(controller).login_as(Role.LEADER)
    lead = await Api(controller).login_as(Role.LEAD)
    caller = "13812340001"
    try:
        await queue_caller(ami, caller)
        number = (await desk.pop())["ticket"]["number"]
        status, body = await desk.call(
            "POST",
            f"/api/tickets/{number}/submit",
            json={
                "category": "env-noise",
                "district": "东城区",
                "address": "长江路9号",
                "content": "工地夜间施工",
                "caller_name": "李四",
                "handling": "dispatched",
            },
        )
        assert status == 200, body
        # A second caller is answered on the spot: the form still shows the category's bureau.
        await ami.action("Hangup", Channel="/^Local.s@hotline-fallback/")
        await desk.call("POST", "/api/agent/wrapup/end")
        desk.frames.clear()
        await queue_caller(ami, "13812340002")
        answered = (await desk.pop())["ticket"]["number"]
        status, body = await desk.call(
            "POST",
            f"/api/tickets/{answered}/submit",
            json={
                "category": "env-noise",
                "content": "咨询噪音投诉渠道",
                "handling": "answered",
                "answer": "已告知可向生态环境局投诉",
                "department": "sthj",
            },
        )
        assert status == 200 and body["department"] == "" and body["status"] == "closed", body
        await acd(controller).drain()
        _, figures = await lead.request("GET", "/api/acd/figures")
        status, made = await leader.request("POST", "/api/briefings", json={"kind": "daily"})
        assert status == 201 and made["total"] == 2, made
        # Each is kept and costs seconds of CPU: a few an hour per user.
        async with leader.http.post(
            controller.make_url("/api/briefings"), json={"kind": "daily"}, headers={"Origin": leader.origin}
        ) as r:
            refused = await r.json()
            assert r.status == 429 and refused["error_id"] == "briefings-throttled", refused
            assert "每人每小时最多生成 1 份简报" in refused["message"] and int(r.headers["Retry-After"]) > 3000
        _, full = await leader.request("GET", f"/api/briefings/{made['id']}")
        b = full["contents"]
        assert b["until"] is not None  # today, so far
        assert (
            (b["hotline"]["offered"], b["hotline"]["answered"])
            == (figures["total"]["offered"], figures["total"]["answered"])
            == (2, 2)
        )
        # Only what was dispatched counts for a bureau.
        assert b["volumes"]["departments"] == [{"label": "市生态环境局", "count": 1}]
        # The leader reads briefings only.
        for method, path in (
            ("GET", f"/api/tickets/{number}"),
            ("GET", "/api/tickets"),
            ("GET", f"/api/tickets?caller={caller}"),
            ("GET", "/api/acd/figures"),
            ("GET", "/api/reports/standards"),
            ("POST", f"/api/tickets/{number}/revisit"),
        ):
            status, body = await leader.request(method, path)
            assert status == 403, (path, status, body)
        status, _ = await leader.request("GET", "/tickets")
        assert status == 403
        _, html = await leader.request("GET", f"/briefings/{made['id']}")
        for text in (html, str(full)):
            assert caller not in text and "李四" not in text and "长江路9号" not in text
        async with controller.app[SESSIONS]() as db, db.begin():
            with pytest.raises(accounts.AccountError):
                await accounts.create_user(db, "boss", "boss", [Role.LEADER, Role.LEAD])
    finally:
        await desk.close()
        await leader.close()
        await lead.close()


async def test_the_schedule_makes_each_due_briefing_once(pbx: object, settings: Settings, tmp_path: Path) -> None:
    # 10:00 on Wednesday 25 November: yesterday's daily, last week's weekly
    # and October's monthly are due (07:30 has passed).
    own = settings.model_copy(
        update={"state_dir": tmp_path / "state", "briefings": settings.briefings.model_copy(update={"schedule": True})}
    )
    keys = ["daily:2026-11-24", "monthly:2026-10-01", "weekly:2026-11-16"]

    async def scheduled(server: TestServer) -> list[str]:
        async with server.app[SESSIONS]() as db:
            rows = (await db.scalars(select(Briefing).order_by(Briefing.scheduled_key))).all()
        return [str(r.scheduled_key) for r in rows]

    for restart in range(2):
        server = TestServer(create_app(own, clock=Clock(bm.NOW)), host=settings.web.host, port=settings.web.port)
        await server.start_server()
        try:
            await eventually(lambda: server.app[KEEPER].mirror.synced, timeout=15)
            got: list[str] = []

            async def made_all() -> bool:
                got[:] = await scheduled(server)
                return got == keys

            for _ in range(240):
                if await made_all():
                    break
                await asyncio.sleep(0.25)
            assert got == keys, (restart, got)
            if restart:
                # The second start's schedule looked at what was due, found it made: still one each.
                await eventually(lambda: server.app[SCHEDULE].checks >= 1, timeout=60)
                assert await scheduled(server) == keys
        finally:
            await server.close()
