"""The 110 link's effects: an incident 110 hands over becomes a ticket
(once, whatever 110 retries), a caller the desk sends to 110 becomes an
incident pushed to 110 (written with the ticket's change, delivered by the
outbox), and 110's receipts and dispatch results land on the ticket and the
agent's desk. Status reports back to 110 are the outbox's (channels/outbox.py)."""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline import signing
from hotline.accounts import Identity
from hotline.channels.outbox import Outbox
from hotline.config import Settings
from hotline.db.models import PoliceLink, Ticket
from hotline.errors import BadRequest, HotlineError
from hotline.numbers import FIRST_YEAR, LAST_YEAR, sane_year
from hotline.police.incident import STAGES, Incident, Result, district_of
from hotline.tickets import history
from hotline.tickets.read_models import TicketView
from hotline.tickets.store import TicketStore

log = logging.getLogger(__name__)

PEER = "110"
ACTOR = "police:110"


class UnknownMatter(HotlineError):
    error_id = "police-unknown-ticket"
    status = 404


class PoliceLinkService:
    def __init__(
        self,
        settings: Settings,
        store: TicketStore,
        outbox: Outbox,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        secret: bytes,
    ):
        self.settings = settings
        self.cfg = settings.police
        self.store = store
        self.outbox = outbox
        self.sessions = sessions
        self.clock = clock
        self.secret = secret
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        # agent -> a frame for their desk (set by the app: the desks' hub).
        self.notify: Callable[[str, dict[str, Any]], object] = lambda agent, frame: None

    # -- 110 -> 12345 ------------------------------------------------------------------------
    async def receive(self, inc: Incident) -> tuple[TicketView, bool]:
        """(the ticket, created?): a retried push of the same intake number
        answers with the ticket the first one made."""
        found = await self._ticket_of(inc.intake_no)
        if found is not None:
            return found, False
        category = self.cfg.category_map.get(inc.category_code, "")
        body = {
            "content": inc.content,
            "address": inc.address,
            "caller": inc.caller,
            "district": district_of(inc.address, self.settings.tickets.districts),
            "category": category,
        }
        classified = bool(category) and self.store.tree.get(category) is not None
        if not classified:
            body.pop("category")
        suspects = await self.store.suspects(body)
        reported = inc.reported_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        try:
            async with self.store.tx() as db:
                t = await self.store.insert(
                    db,
                    "110",
                    ACTOR,
                    body,
                    classified=classified,
                    suspects=suspects,
                    external_ref=inc.intake_no,
                    caller_name=inc.caller_name,
                    note=f"110 转办，接警单编号 {inc.intake_no}，报警时间 {reported}",
                )
                db.add(
                    PoliceLink(
                        direction="in",
                        ticket_id=t.id,
                        ticket_number=t.number,
                        intake_no=inc.intake_no,
                        reason="incident",
                        state="",
                        created_at=self.clock(),
                        result="",
                        payload={
                            "reported_at": inc.reported_at.isoformat(),
                            "longitude": inc.longitude,
                            "latitude": inc.latitude,
                            "category_code": inc.category_code,
                            "recording_url": inc.recording_url,
                        },
                    )
                )
                row = self.store.views.row(t)
        except IntegrityError:
            # Two deliveries of one incident raced; the other one made the ticket.
            found = await self._ticket_of(inc.intake_no)
            if found is None:
                raise
            return found, False
        log.info("110 incident %s -> ticket %s", inc.intake_no, row.number)
        return row, True

    async def _ticket_of(self, intake_no: str) -> TicketView | None:
        async with self.sessions() as db:
            t = await db.scalar(
                select(Ticket)
                .join(PoliceLink, PoliceLink.ticket_id == Ticket.id)
                .where(PoliceLink.direction == "in", PoliceLink.intake_no == intake_no)
            )
            return self.store.views.row(t) if t is not None else None

    # -- 12345 -> 110 ------------------------------------------------------------------------
    def recording_link(self, call_id: str) -> str:
        # Real time, as the route checks it and as every signature with 110 is
        # timed: the link is a wire credential, not a date in the hotline's books.
        expires = int(time.time()) + self.cfg.recording_link_hours * 3600
        sig = signing.link_signature(self.secret, call_id, expires)
        return f"{self.settings.hotline_url}/api/110/recordings/{call_id}?expires={expires}&sig={sig}"

    async def push(self, number: str, reason: str, who: Identity, note: str) -> None:
        """The agent sent the caller to 110 (transfer) or brought 110 into the
        call (conference): the ticket goes to 110 as an incident, in the same
        transaction as the note on the ticket. Once per ticket."""
        now = self.clock()
        async with self.store.tx() as db:
            t = await db.scalar(select(Ticket).where(Ticket.number == number))
            if t is None:
                raise UnknownMatter(f"没有工单 {number}", ticket=number)
            sent = await db.scalar(
                select(PoliceLink).where(PoliceLink.direction == "out", PoliceLink.ticket_number == number)
            )
            if sent is None and self.cfg.gateway() is not None:
                payload = self._incident(t, reason, who, now)
                db.add(
                    PoliceLink(
                        direction="out",
                        ticket_id=t.id,
                        ticket_number=t.number,
                        intake_no=None,
                        reason=reason,
                        state="pushed",
                        payload=payload,
                        result="",
                        created_at=now,
                    )
                )
                self.outbox.add_peer(db, PEER, t.number, "incident", payload, now)
                note += "；已向 110 推送警单"
            history.record(db, t, actor=who.username, action=reason, note=note, at=now)

    def _incident(self, t: Ticket, reason: str, who: Identity, now: dt.datetime) -> dict[str, Any]:
        return {
            "type": "incident",
            "ticket": t.number,
            "reason": reason,
            "reported_at": t.created_at.isoformat(),
            "sent_at": now.isoformat(timespec="seconds"),
            "caller": t.caller,
            "caller_name": t.caller_name,
            "address": t.address,
            "district": t.district,
            "category": t.category,
            "category_text": self.store.views.category_label(t.category),
            "content": t.content,
            "agent": who.username,
            "recording_url": self.recording_link(t.call_id) if t.call_id else "",
        }

    async def result(self, r: Result) -> dict[str, Any]:
        """110's receipt or dispatch result; the same one again changes nothing."""
        now = self.clock()
        async with self.store.tx() as db:
            link = await db.scalar(
                select(PoliceLink).where(PoliceLink.direction == "out", PoliceLink.ticket_number == r.ticket)
            )
            if link is None:
                raise UnknownMatter(f"没有推送给 110 的工单 {r.ticket}", ticket=r.ticket)
            if link.intake_no and link.intake_no != r.intake_no:
                raise BadRequest(f"工单 {r.ticket} 对应的接警单编号是 {link.intake_no}", field="intake_no")
            t = await db.get(Ticket, link.ticket_id)
            assert t is not None
            changed = False
            if r.stage == "received" and link.received_at is None:
                link.intake_no, link.received_at, changed = r.intake_no, now, True
                link.state = "received" if link.dispatched_at is None else link.state
                note = f"110 已接警，接警单编号 {r.intake_no}"
            elif r.stage == "dispatched" and link.dispatched_at is None:
                link.intake_no, link.dispatched_at, link.result, link.state = r.intake_no, now, r.result, "dispatched"
                link.received_at = link.received_at or now
                changed = True
                note = f"110 处警结果：{r.result}"
            if changed:
                history.record(db, t, actor=ACTOR, action="police", note=note, at=now)
            view = self.store.views.police(link)
            agent = t.agent
        if changed and agent:
            self.notify(agent, {"type": "police", "ticket": r.ticket, **view.as_dict()})
        return {"ticket": r.ticket, "changed": changed, **view.as_dict()}

    # -- figures -------------------------------------------------------------------------------
    async def figures(self, month: str | None = None) -> dict[str, Any]:
        """Matters each way per day of a month, and per month over the last
        twelve (the city's yardstick: non-police calls 110 hands over)."""
        today = self.clock().astimezone(self.tz).date()
        if month is None:
            year, mon = today.year, today.month
        else:
            try:
                year, mon = (int(x) for x in month.split("-"))
                dt.date(year, mon, 1)
            except ValueError:
                raise BadRequest("month 的格式是 YYYY-MM", field="month") from None
            if not sane_year(year):
                raise BadRequest(f"年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间", field="month")
        # Twelve months ending with the month asked for.
        first = dt.datetime(year - 1 + (mon == 12), mon % 12 + 1, 1, tzinfo=self.tz)
        start_month = dt.datetime(year, mon, 1, tzinfo=self.tz)
        days = calendar.monthrange(year, mon)[1]
        end = start_month + dt.timedelta(days=days)
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(PoliceLink.direction, PoliceLink.created_at).where(
                        PoliceLink.created_at >= first.astimezone(dt.timezone.utc),
                        PoliceLink.created_at < end.astimezone(dt.timezone.utc),
                    )
                )
            ).all()
            pending = await db.scalar(
                select(func.count())
                .select_from(PoliceLink)
                .where(PoliceLink.direction == "out", PoliceLink.state == "pushed")
            )
        per_day = {d: {"from_110": 0, "to_110": 0} for d in range(1, days + 1)}
        per_month: dict[str, dict[str, int]] = {}
        for direction, at in rows:
            local = at.astimezone(self.tz)
            key = "from_110" if direction == "in" else "to_110"
            per_month.setdefault(local.strftime("%Y-%m"), {"from_110": 0, "to_110": 0})[key] += 1
            if local.year == year and local.month == mon:
                per_day[local.day][key] += 1
        months = []
        y, m = year, mon
        for _ in range(12):
            label = f"{y:04d}-{m:02d}"
            months.append({"month": label, **per_month.get(label, {"from_110": 0, "to_110": 0})})
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        return {
            "month": f"{year:04d}-{mon:02d}",
            "days": [{"date": f"{year:04d}-{mon:02d}-{d:02d}", **v} for d, v in per_day.items()],
            "total": {k: sum(v[k] for v in per_day.values()) for k in ("from_110", "to_110")},
            "months": list(reversed(months)),
            "awaiting_receipt": pending or 0,
        }

    def catalogue(self) -> dict[str, Any]:
        return {
            "number": self.cfg.number,
            "to_110": self.cfg.to_110,
            "from_110": self.cfg.from_110,
            "linked": self.cfg.gateway() is not None,
        }


__all__ = ["PoliceLinkService", "UnknownMatter", "STAGES", "PEER"]
