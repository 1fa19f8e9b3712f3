"""What an agent does with a work item at the desk: read it, call the
citizen back from their seat's phone, and record the result. Ticket kinds
(intake, review, revisit, redispatch, duplicate) end through the ticket's
own workflow (tickets/store.py), in the same transaction as the item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.accounts import Identity
from hotline.acd.service import AcdService
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.db.models import Callback, Ticket, VoiceMessage
from hotline.errors import BadRequest, HotlineError
from hotline.numbers import ascii_digits
from hotline.tickets import duplicates
from hotline.tickets.store import TicketStore
from hotline.work.board import Item, State
from hotline.work.service import WorkService
from hotline.work.views import ItemView, item_view

# Kinds whose work is done on a ticket an agent must own to submit.
OWNED = {"intake"}
# Kinds that end with the agent's result, not a ticket action.
RESULTS = {
    "voicemail": ("ticket", "unreachable"),
    "legal": ("ticket", "unreachable"),
    "callback": ("ticket", "unreachable"),
    "duplicate": ("not-duplicate",),
}


class NoNumber(HotlineError):
    error_id = "work-no-number"
    status = 409


class WorkDesk:
    def __init__(
        self, settings: Settings, service: WorkService, store: TicketStore, client: AMIClient, acd: AcdService
    ):
        self.settings = settings
        self.service = service
        self.store = store
        self.client = client
        self.acd = acd

    async def accept(self, who: Identity, item_id: int) -> dict[str, Any]:
        async def also(db: AsyncSession, it: Item) -> None:
            if it.kind in OWNED and it.ticket:
                tid = await db.scalar(select(Ticket.id).where(Ticket.number == it.ticket))
                if tid is not None:
                    await self.store.assign(db, tid, who.username)

        view = await self.service.accept(who.username, item_id, also)
        return await self.detail(who, item_id, view)

    async def detail(self, who: Identity, item_id: int, view: ItemView | None = None) -> dict[str, Any]:
        it = self.service.held(who.username, item_id, (State.OFFERED, State.ACCEPTED))
        view = view or item_view(it, self.service.now())
        out: dict[str, Any] = {**view.as_dict(), "results": list(RESULTS.get(it.kind, ()))}
        if it.ticket:
            out["ticket_view"] = await self.store.get(it.ticket, who)
        if it.kind in ("duplicate", "intake") and it.ticket:
            out["candidates"] = await self.candidates(it.ticket, who)
        number, message = await self._citizen(it)
        out["number"] = number
        if message is not None:
            out["voicemail"] = {
                "audio": f"/api/work/{it.id}/audio",
                "created_at": message.created_at.isoformat(),
                "category": message.category,
            }
        return out

    async def candidates(self, number: str, who: Identity) -> list[dict[str, Any]]:
        async with self.store.sessions() as db:
            t = await self.store._get(db, number)
            found = await duplicates.candidates(db, self.settings, duplicates.probe_of(t), self.store.clock())
            rows = {
                r.number: r
                for r in (await db.scalars(select(Ticket).where(Ticket.number.in_([c.number for c in found])))).all()
            }
        return [
            {**self.store.views.view(rows[c.number], who).as_dict(), "score": c.score, "reasons": list(c.reasons)}
            for c in found
            if c.number in rows
        ]

    async def _citizen(self, it: Item) -> tuple[str, VoiceMessage | None]:
        """The number to call back, and the voice message if there is one."""
        async with self.store.sessions() as db:
            if it.kind in ("voicemail", "legal") and ascii_digits(it.ref):
                msg = await db.get(VoiceMessage, int(it.ref))
                return (msg.caller if msg else ""), msg
            if it.kind == "callback" and ascii_digits(it.ref):
                cb = await db.get(Callback, int(it.ref))
                return (cb.number if cb else ""), None
            if it.ticket:
                caller = await db.scalar(select(Ticket.caller).where(Ticket.number == it.ticket))
                return caller or "", None
        return "", None

    async def audio(self, who: Identity, item_id: int) -> Path:
        it = self.service.held(who.username, item_id, (State.OFFERED, State.ACCEPTED))
        _, msg = await self._citizen(it)
        if msg is None:
            raise BadRequest("这项工作没有语音留言")
        path = self.settings.messages_dir / Path(msg.file).name
        if not path.is_file():
            raise NoNumber("留言录音文件已不存在")
        return path

    async def call(self, who: Identity, item_id: int) -> dict[str, Any]:
        """The agent's phone rings; when they pick up, the hotline dials the
        citizen with 12345 as the caller ID (hotline-pstn-dial)."""
        it = self.service.held(who.username, item_id, (State.ACCEPTED,))
        number, _ = await self._citizen(it)
        if not ascii_digits(number) or not 2 <= len(number) <= 20:
            raise NoNumber("没有可回拨的市民号码")
        seat = self.acd.seat_of_agent(who.username)
        if seat is None or (seat.on_line and not seat.lawyer) or seat.talking or seat.ringing:
            raise NoNumber("请在工单处理状态（不在话务线路上）回拨")
        await self.client.action(
            "Originate",
            Channel=seat.interface,
            Context="hotline-outside",
            Exten=number,
            Priority="1",
            CallerID=f'"回拨" <{self.settings.hotline_number}>',
            Timeout=30000,
            Async="true",
            Variable=f"HOTLINE_WORK={it.id}",
        )
        if it.ticket:
            await self.store.note(it.ticket, who, "callback", "坐席回拨市民")
        return {"item": it.id, "calling": True}

    async def result(self, who: Identity, item_id: int, body: dict[str, Any]) -> dict[str, Any]:
        it = self.service.held(who.username, item_id, (State.ACCEPTED,))
        outcome = body.get("outcome")
        allowed = RESULTS.get(it.kind, ())
        if type(outcome) is not str or outcome not in allowed:
            raise BadRequest(f"outcome 必须是 {' / '.join(allowed) or '（此类工作在工单上完成）'}", field="outcome")
        note = body.get("note", "")
        if type(note) is not str or len(note) > 1000:
            raise BadRequest("note 必须是 1000 字以内的文本", field="note")
        if outcome == "unreachable":
            return await self.service.retry_later(who.username, item_id, note)
        if outcome == "not-duplicate":
            await self.service.complete(who.username, item_id, "not-duplicate", note or "核实不是重复诉求")
            return {"done": True}
        # outcome "ticket": the citizen was reached; what they asked becomes a
        # ticket of the agent's, opened in the desk's form.
        number, msg = await self._citizen(it)
        form = body.get("ticket")
        if type(form) is not dict:
            raise BadRequest("ticket 必须是工单内容（content、category …）", field="ticket")
        made: dict[str, str] = {}

        async def also(db: AsyncSession, _: Item) -> None:
            t = await self.store.insert(
                db,
                "callback" if it.kind == "callback" else "voicemail",
                who.username,
                {**form, "caller": number},
                offer=False,
                call_id=msg.call_id if msg else None,
            )
            made["number"] = t.number

        await self.service.complete(who.username, item_id, "ticket", note, also)
        self.store.moves.committed({})  # the ticket may be a suspected duplicate: look
        return {"done": True, "ticket": made.get("number")}
