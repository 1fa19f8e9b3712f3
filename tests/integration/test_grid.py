"""Community grid stations against the real PBX: a called-in ticket whose
address a community owns is dispatched to its grid station (属地优先); the
station's worker signs for it, records the site with photos and feeds back,
or hands it on (首接负责); a patrol report becomes a ticket of channel grid;
the lead's ledger counts stations like departments; photos are limited in
size and kind and private to who may read the ticket."""

from __future__ import annotations

import datetime as dt
import io
import stat
import struct
import zlib

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.ami.client import AMIClient
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import Clock
from tests.integration.desk import Desk
from tests.integration.floor import queue_caller
from tests.integration.ivr_helpers import Api
from tests.integration.test_tickets import department_api
from tests.integration.test_work import close_all, floor_of, offer_to

pytestmark = pytest.mark.pbx

LAMP = {
    "category": "urban-works",
    "district": "西城区",
    "address": "和平路 22 号门前",
    "content": "和平路 22 号门前路灯坏了一个多月，晚上很黑",
}


def png(width: int = 16, height: int = 16) -> bytes:
    """A real (green) PNG, as a phone's camera would send a photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x20\xa0\x40" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def grid_worker(server: TestServer, community: str, username: str) -> Api:
    api = Api(server)
    async with server.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, username, f"网格员{username}", [Role.GRID], department=community)
    api.username, api.password = username, password
    async with api.http.post(server.make_url("/api/login"), json={"username": username, "password": password}) as r:
        assert r.status == 200
    return api


async def upload(
    api: Api, number: str, data: bytes, *, origin: bool = True, filename: str = "site.png"
) -> tuple[int, dict]:
    form = aiohttp.FormData()
    # A stream, as a phone's browser sends a file (raw bytes this large are refused by the client).
    form.add_field("photo", io.BytesIO(data), filename=filename, content_type="image/png")
    headers = {"Origin": api.origin} if origin else {}
    async with api.http.post(api.server.make_url(f"/api/tickets/{number}/photos"), data=form, headers=headers) as r:
        return r.status, await r.json()


async def dispatched_call(controller: TestServer, ami: AMIClient, desk: Desk, caller: str) -> str:
    """A citizen calls; the agent dispatches without choosing a unit."""
    await queue_caller(ami, caller)
    pop = await desk.pop()
    number = pop["ticket"]["number"]
    status, t = await desk.call("POST", f"/api/tickets/{number}/submit", json={**LAMP, "handling": "dispatched"})
    assert status == 200, t
    return number


async def test_a_called_in_ticket_lands_at_the_grid_station_owning_the_address_and_its_worker_handles_it(
    controller: TestServer, ami: AMIClient, clock: Clock
) -> None:
    desk = await Desk(controller, "seat01").start()
    worker = await grid_worker(controller, "hepingjie", "grid-hpj")
    stranger = await grid_worker(controller, "binhe", "grid-bh")
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        # The desk is told the unit while the address is typed.
        _, found = await desk.call("GET", "/api/grid/locate?address=" + "和平路 22 号" + "&district=西城区")
        assert (
            found["unit"]["station"] == "和平街社区网格站" and found["unit"]["path"] == "西城区 / 新华街道 / 和平街社区"
        )
        number = await dispatched_call(controller, ami, desk, "13900000201")
        _, t = await desk.call("GET", f"/api/tickets/{number}")
        assert (t["department"], t["department_text"], t["status"]) == ("hepingjie", "和平街社区网格站", "dispatched")
        # The station's worker sees it; another community's neither sees nor touches it.
        _, mine = await worker.request("GET", "/api/grid/tickets")
        assert [x["number"] for x in mine["tickets"]] == [number] and mine["unit"]["station"] == "和平街社区网格站"
        _, theirs = await stranger.request("GET", "/api/grid/tickets")
        assert theirs["tickets"] == []
        assert (await stranger.request("GET", f"/api/tickets/{number}"))[0] == 404
        assert (await stranger.request("POST", f"/api/tickets/{number}/feedback", json={"note": "x"}))[0] == 404
        assert (await upload(stranger, number, png()))[0] == 404
        # Signs for it, records the site with a photo.
        assert (await worker.request("POST", f"/api/tickets/{number}/receive", json={}))[0] == 200
        status, photo = await upload(worker, number, png())
        assert status == 201, photo
        # Limits: size, kind, and only from the hotline's own pages.
        limit = controller.app[SETTINGS].grid.photo_max_bytes
        status, err = await upload(worker, number, png() + b"\x00" * limit)
        assert (status, err["error_id"]) == (413, "photo-too-large")
        status, err = await upload(worker, number, b"%PDF-1.4 not a photo", filename="x.pdf")
        assert (status, err["error_id"]) == (400, "photo-refused")
        status, err = await upload(worker, number, png(), origin=False)
        assert (status, err["error_id"]) == (403, "cross-origin")
        folder = controller.app[SETTINGS].photos_dir
        files = list(folder.iterdir())
        assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        # The photo is served to who may read the ticket, not to another station.
        async with lead.http.get(controller.make_url(photo["url"])) as r:
            assert r.status == 200 and (await r.read()) == png() and r.content_type == "image/png"
        assert (await stranger.request("GET", photo["url"]))[0] == 404
        status, _ = await worker.request("POST", f"/api/tickets/{number}/note", json={"note": "现场核实：灯杆线路老化"})
        assert status == 200
        # Overdue, the lead's ledger names the station like a department.
        clock.now += dt.timedelta(days=3)
        _, ledger = await lead.request("GET", "/api/tickets/ledger")
        assert [(r["number"], r["department_text"]) for r in ledger["overdue"]] == [(number, "和平街社区网格站")]
        status, t = await worker.request(
            "POST", f"/api/tickets/{number}/feedback", json={"note": "已更换灯杆线路，路灯恢复照明。"}
        )
        assert status == 200 and t["status"] == "feedback"
        _, t = await lead.request("GET", f"/api/tickets/{number}")
        assert [h["action"] for h in t["history"]][-5:] == ["dispatch", "receive", "photo", "note", "feedback"]
        assert len(t["photos"]) == 1 and t["unit_path"] == "西城区 / 新华街道 / 和平街社区"
    finally:
        await close_all(desk, worker, stranger, lead)


async def test_the_first_unit_stays_responsible_until_it_hands_the_ticket_on(
    controller: TestServer, ami: AMIClient
) -> None:
    desk = await Desk(controller, "seat01").start()
    worker = await grid_worker(controller, "hepingjie", "grid-hpj2")
    dept = await department_api(controller, "zjw")
    try:
        number = await dispatched_call(controller, ami, desk, "13900000202")
        # Not the department's until the station hands it on, with a reason.
        assert (await dept.request("GET", f"/api/tickets/{number}"))[0] == 404
        status, err = await worker.request("POST", f"/api/tickets/{number}/handover", json={"department": "zjw"})
        assert (status, err["details"]["field"]) == (400, "note")
        status, t = await worker.request(
            "POST", f"/api/tickets/{number}/handover", json={"department": "zjw", "note": "路灯属市政管养，非社区设施"}
        )
        assert status == 200 and (t["department"], t["status"]) == ("zjw", "dispatched")
        _, t = await dept.request("GET", f"/api/tickets/{number}")
        assert "由和平街社区网格站转交市住房城乡建设委" in t["history"][-1]["note"]
        assert (await worker.request("GET", f"/api/tickets/{number}"))[0] == 404
        _, mine = await worker.request("GET", "/api/grid/tickets")
        assert mine["tickets"] == []
    finally:
        await close_all(desk, worker, dept)


async def test_a_patrol_report_becomes_a_grid_ticket_an_agent_takes_in(controller: TestServer) -> None:
    desks = await floor_of(controller, 2, lines=1)
    agent = desks[1]
    worker = await grid_worker(controller, "xingfu", "grid-xf")
    try:
        status, t = await worker.request(
            "POST",
            "/api/grid/reports",
            json={"content": "幸福路 3 号井盖破损，有行人绊倒的危险", "address": "幸福路 3 号"},
        )
        assert status == 201 and (t["channel"], t["district"], t["agent"]) == ("grid", "东城区", "grid-xf")
        assert (await upload(worker, t["number"], png()))[0] == 201
        _, mine = await worker.request("GET", "/api/grid/tickets")
        assert [(x["number"], x["mine"]) for x in mine["tickets"]] == [(t["number"], False)]
        # An agent off the lines takes it in and dispatches it to the station owning the address.
        item = await offer_to(agent, t["number"], "intake")
        assert item["kind_text"] == "网络渠道诉求"
        await agent.call("POST", f"/api/work/{item['id']}/accept")
        status, done = await agent.call(
            "POST",
            f"/api/tickets/{t['number']}/submit",
            json={
                "category": "urban-works",
                "district": "东城区",
                "address": "幸福路 3 号",
                "content": "幸福路 3 号井盖破损",
                "handling": "dispatched",
            },
        )
        assert status == 200 and done["department"] == "xingfu"
        _, mine = await worker.request("GET", "/api/grid/tickets")
        assert [(x["number"], x["mine"]) for x in mine["tickets"]] == [(t["number"], True)]
        # The grid worker's page on a phone: the ticket, its photo, a note with a photo, feedback.
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)).new_page()
            await page.goto(str(controller.make_url("/grid")))
            await sign_in(page, worker.username, worker.password, "/grid")
            await page.wait_for_selector(f".ticket[data-n='{t['number']}']")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "grid-list.png"), full_page=True)
            await page.click(f".ticket[data-n='{t['number']}']")
            await page.wait_for_selector("#dPhotos img")
            # Signing is once: the button goes and the status says it.
            await page.click("#btnReceive")
            await page.wait_for_selector("#dStatus:has-text('已签收，办理中')")
            assert not await page.locator("#btnReceive").is_visible()
            # Handing on needs a chosen unit and a reason (it used to go to the first bureau at a tap).
            await page.click("#btnHandover")
            await page.wait_for_selector("#msg.err:has-text('请先选择接手单位')")
            await page.fill("#note", "已设置警示围挡，通知维修")
            await page.set_input_files(
                "#photo", files=[{"name": "site.png", "mimeType": "image/png", "buffer": png(32, 32)}]
            )
            await page.click("#btnNote")
            await page.wait_for_selector("#dPhotos img:nth-child(2)")
            await page.wait_for_selector("#dHistory li:has-text('已设置警示围挡')")
            await page.screenshot(path=str(SHOTS / "grid-ticket.png"), full_page=True)
            await page.fill("#note", "井盖已更换。")
            await page.click("#btnFeedback")
            await page.wait_for_selector("#msg.ok:has-text('已办结反馈')")
            # Answered, it leaves the to-do list and is found under the filter.
            await page.wait_for_selector(f".ticket[data-n='{t['number']}']", state="detached")
            await page.check("#showDone")
            await page.wait_for_selector(f".ticket[data-n='{t['number']}']:has-text('已反馈')")
            await page.screenshot(path=str(SHOTS / "grid-done.png"), full_page=True)
        _, view = await agent.call("GET", f"/api/tickets/{t['number']}")
        assert view["status"] == "feedback" and len(view["photos"]) == 2
    finally:
        await close_all(*desks, worker)
