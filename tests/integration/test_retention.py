"""Personal data past its period: deleted or anonymised by the retention
run, a ticket under a legal hold kept whole, the figures unchanged, the run
in the audit an admin reads; the PBX's logs rotated by the bundled Asterisk."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from hotline.db.models import (
    Call,
    QueueCall,
    RetentionRun,
    Ticket,
    TicketCall,
    TicketPhoto,
    User,
    VoiceMessage,
    WebSession,
)
from hotline.pbx.paths import Paths
from hotline.roles import Role
from hotline.tickets.api import STORE
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import Clock
from tests.integration.ivr_helpers import Api
from tests.integration.test_tickets import FORM

pytestmark = pytest.mark.pbx

DAYS = dt.timedelta(days=1)


def _aged(path: Path, when: dt.datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


async def _old_ticket(server: TestServer, caller: str, call_id: str, closed: dt.datetime) -> str:
    """A phone ticket that came from call_id, closed long ago (its own day's figures)."""
    t = await server.app[STORE].create("web", "gateway:web", {**FORM, "caller": caller})
    async with server.app[SESSIONS]() as db, db.begin():
        await db.execute(
            update(Ticket)
            .where(Ticket.number == t.number)
            .values(
                status="closed",
                created_at=closed,
                closed_at=closed,
                caller_name="张先生",
                call_id=call_id,
                satisfaction=1,
            )
        )
        row = await db.scalar(select(Ticket).where(Ticket.number == t.number))
        assert row is not None
        db.add(
            TicketCall(
                ticket_id=row.id, call_id=call_id, agent="agent01", answered_at=closed, recording=f"{call_id}.wav"
            )
        )
        db.add(Call(call_id=call_id, caller=caller, caller_name="张先生", started_at=closed))
        at = closed.timestamp()
        db.add(
            QueueCall(
                uniqueid=f"{call_id}.1",
                call_id=call_id,
                queue="hotline",
                caller=caller,
                joined_at=at,
                answered_at=at + 8,
                ended_at=at + 200,
                hold_s=8.0,
                talk_s=192.0,
            )
        )
        db.add(
            TicketPhoto(
                ticket_id=row.id,
                file=f"{call_id}.jpg",
                content_type="image/jpeg",
                size=4,
                sha256="0" * 64,
                uploaded_by="grid01",
                at=closed,
            )
        )
        db.add(VoiceMessage(call_id=call_id, caller=caller, file=f"{call_id}-msg.wav", created_at=closed))
    return t.number


async def test_personal_data_past_its_period_goes_a_held_ticket_keeps_everything_and_figures_stay(
    controller: TestServer, clock: Clock
) -> None:
    s = controller.app[SETTINGS]
    now = clock.now
    long_ago = now - 400 * DAYS  # past every default period
    month = long_ago.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    gone = await _old_ticket(controller, "13900001111", "ret-gone", long_ago)
    held = await _old_ticket(controller, "13900002222", "ret-held", long_ago)
    files = {}
    for call_id in ("ret-gone", "ret-held"):
        files[call_id] = [
            _aged(s.recordings_dir / f"{call_id}.wav", long_ago),
            # each party's own file, for the quality checks
            _aged(s.recordings_dir / f"{call_id}-caller.wav", long_ago),
            _aged(s.recordings_dir / f"{call_id}-agent.wav", long_ago),
            _aged(s.messages_dir / f"{call_id}-msg.wav", long_ago),
            _aged(s.photos_dir / f"{call_id}.jpg", long_ago),
        ]
    fresh = _aged(s.recordings_dir / "ret-fresh.wav", now)  # within its period
    log_dir = Paths(s.pbx.instance_dir).log
    old_log = _aged(log_dir / "messages.log.2024-01-01_00-00-00", long_ago)
    lead = await Api(controller).login_as(Role.LEAD)
    admin = await Api(controller).login_as(Role.ADMIN)
    agent = await Api(controller).login_as(Role.AGENT)
    async with controller.app[SESSIONS]() as db, db.begin():
        agent_id = await db.scalar(select(User.id).where(User.username == agent.username))
        assert agent_id is not None
        db.add(WebSession(token_hash="r" * 64, user_id=agent_id, created_at=long_ago, expires_at=long_ago + DAYS))
    try:
        # A lead puts one ticket under a legal hold (an agent may not).
        status, _ = await agent.request("POST", f"/api/tickets/{held}/legal-hold", json={"hold": True})
        assert status == 403
        status, body = await lead.request("POST", f"/api/tickets/{held}/legal-hold", json={"hold": "yes"})
        assert status == 400 and body["error_id"] == "bad-request"
        status, body = await lead.request(
            "POST", f"/api/tickets/{held}/legal-hold", json={"hold": True, "note": "诉讼证据保全"}
        )
        assert status == 200 and body["changed"] is True
        _, figures_before = await lead.request("GET", f"/api/reports/standards?month={month}")

        # A dry run counts and changes nothing.
        status, dry = await admin.request("POST", "/api/retention/run", json={"dry_run": True})
        assert status == 200, dry
        counts = {i["what"]: i["count"] for i in dry["items"]}
        assert counts["recordings"] >= 1 and counts["photos"] == 1 and counts["voice-messages"] >= 1
        assert all(p.exists() for p in files["ret-gone"]) and old_log.exists()

        rotated_before = {p.name for p in log_dir.glob("messages.log.*")}
        status, done = await admin.request("POST", "/api/retention/run", json={"dry_run": False})
        assert status == 200, done
        by = {i["what"]: i for i in done["items"]}
        assert by["photos"]["count"] == 1 and by["sessions"]["count"] >= 1 and by["logs"]["count"] >= 1
        assert "180 天" in by["recordings"]["why"] and "匿名化" in by["callers"]["why"]

        # The ticket past its period: files gone, caller anonymised, the ticket itself kept.
        assert not any(p.exists() for p in files["ret-gone"])
        assert fresh.exists()
        assert not old_log.exists()
        # The PBX started a new log (LoggerRotate), and the file it rotated out is kept.
        assert {p.name for p in log_dir.glob("messages.log.*")} - rotated_before - {old_log.name}
        async with controller.app[SESSIONS]() as db:
            t = await db.scalar(select(Ticket).where(Ticket.number == gone))
            assert t is not None and (t.caller, t.caller_name) == ("", "") and t.anonymised_at is not None
            assert t.content == FORM["content"] and t.category == FORM["category"]
            call = await db.get(Call, "ret-gone")
            assert call is not None and (call.caller, call.caller_name) == ("", "")
            stay = await db.get(QueueCall, "ret-gone.1")
            assert stay is not None and stay.caller == ""
            assert (await db.scalars(select(TicketPhoto).where(TicketPhoto.file == "ret-gone.jpg"))).first() is None
            msg = (await db.scalars(select(VoiceMessage).where(VoiceMessage.call_id == "ret-gone"))).one()
            assert (msg.file, msg.caller) == ("", "")
            assert (await db.scalars(select(TicketCall).where(TicketCall.call_id == "ret-gone"))).one().recording_purged
            assert await db.get(WebSession, "r" * 64) is None
            # The held ticket keeps everything.
            h = await db.scalar(select(Ticket).where(Ticket.number == held))
            assert h is not None and h.caller == "13900002222" and h.caller_name == "张先生" and h.legal_hold
            assert (await db.get(Call, "ret-held")).caller == "13900002222"  # type: ignore[union-attr]
            assert (await db.get(QueueCall, "ret-held.1")).caller == "13900002222"  # type: ignore[union-attr]
            runs = (await db.scalars(select(RetentionRun))).all()
        assert all(p.exists() for p in files["ret-held"])
        assert len(runs) == 1 and runs[0].actor == admin.username  # the dry run left no trace

        # The figures of that month are what they were.
        _, figures_after = await lead.request("GET", f"/api/reports/standards?month={month}")
        assert figures_after == figures_before
        # The ticket's history says who held it and why.
        _, view = await lead.request("GET", f"/api/tickets/{held}")
        assert view["legal_hold"] is True
        assert any(e["action_text"] == "法律保全" and e["note"] == "诉讼证据保全" for e in view["history"])
        # A second run finds nothing more of the database's to do.
        _, again = await admin.request("POST", "/api/retention/run", json={"dry_run": False})
        assert {i["what"]: i["count"] for i in again["items"]}["callers"] == 0

        # The admin reads the audit on the page, in city time.
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1300, "height": 900})
            await page.goto(str(controller.make_url("/admin/retention")))
            await sign_in(page, admin.username, admin.password, "/admin/retention")
            await page.wait_for_selector("#runs tbody tr:nth-child(2)")
            text = await page.inner_text("#runs")
            assert "工单照片：1" in text and admin.username in text
            stamp = runs[0].at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M")
            assert stamp in text
            await page.click("#dry")
            await page.wait_for_selector("#preview:not([hidden]) tbody tr")
            await page.wait_for_selector("#feedback .ok")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "retention.png"), full_page=True)
    finally:
        for api in (lead, admin, agent):
            await api.close()
        fresh.unlink(missing_ok=True)
        for paths in files.values():
            for p in paths:
                p.unlink(missing_ok=True)
        old_log.unlink(missing_ok=True)
