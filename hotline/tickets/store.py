"""The ticket store: numbers, the hand-off of calls, drafts, the workflow
(reads in reads.py, access rules in access.py, views in views.py, the form in
form.py, the knowledge base in kb.py).

Every method is one short transaction and returns plain dicts; a caller that
got an answer may rely on it being on disk (SQLite: WAL + synchronous=FULL;
PostgreSQL: a committed transaction).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Identity
from hotline.config import Settings
from hotline.db.models import Call, Ticket, TicketCall, TicketDraft, TicketEvent, TicketSequence
from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.tickets import workflow as wf
from hotline.tickets.access import NotYourTicket, TicketNotFound, may_read, own, unit_only
from hotline.tickets.categories import CategoryTree
from hotline.tickets.form import FORM_TEXT, apply_form, flag, read_form
from hotline.tickets.kb import KnowledgeBase
from hotline.tickets.reads import TicketReads
from hotline.tickets.views import CHANNELS, TicketViews
from hotline.channels.outbox import Outbox
from hotline.work import duplicates, rows as work_rows
from hotline.work.rows import WorkNews
from hotline.work.policy import WorkPolicy

__all__ = ["TicketStore", "TicketNotFound", "NotYourTicket", "CHANNELS"]


class TicketStore(TicketReads):
    def __init__(self, settings: Settings, sessions: async_sessionmaker, clock: Callable[[], dt.datetime]):
        self.settings = settings
        self.cfg = settings.tickets
        self.sessions = sessions
        self.clock = clock
        self.tree = CategoryTree(settings.tickets)
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self.views = TicketViews(self.tree)
        self.kb = KnowledgeBase(sessions, clock, self.views.category_label)
        self.policy = WorkPolicy.from_settings(settings)
        self.outbox = Outbox(settings)
        # Called after every commit with what it did to the work queue (None:
        # unknown, look): the queue and the outbox delivery act at once
        # instead of at their next round.
        self.on_commit: Callable[[WorkNews | None], None] = lambda news: None

    def _read_form(self, body: dict[str, Any], *, require_content: bool,
                   require_category: bool = True) -> dict[str, Any]:
        return read_form(body, self.tree, self.cfg, require_content=require_content,
                         require_category=require_category)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (on SQLite, queued behind the engine's write
        lock); once committed, what it did to the work queue is handed on."""
        with work_rows.collecting() as news:
            async with self.sessions() as db, db.begin():
                yield db
        self.on_commit(news)


    # -- numbers -------------------------------------------------------------------
    async def _next_number(self, db: AsyncSession, now: dt.datetime) -> str:
        """Date + per-day sequence: 20261127000042. One upsert, so two
        writers on PostgreSQL never draw the same number."""
        day = now.astimezone(self.tz).strftime("%Y%m%d")
        insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(TicketSequence).values(day=day, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=[TicketSequence.day],
                                          set_={"last": TicketSequence.last + 1}).returning(TicketSequence.last)
        seq = (await db.execute(stmt)).scalar_one()
        return f"{day}{seq:06d}"

    # -- hand-off of an answered call --------------------------------------------------
    async def caller_context(self, call_id: str, caller: str) -> dict[str, Any]:
        """What the screen pop shows before the ticket exists: the IVR path and
        the caller's earlier tickets. Reads only, so it never waits for a writer."""
        async with self.sessions() as db:
            call = await db.get(Call, call_id)
            history = await self._history(db, caller, 0) if caller else []
        since = (self.clock() - dt.timedelta(days=self.cfg.repeat_days)).isoformat()
        return {"ivr_path": list(call.ivr_path) if call else [], "ivr_category": call.category if call else "",
                "ivr_tag": call.tag if call else "", "history": history,
                "repeat": any(h["created_at"] >= since for h in history)}

    async def open_for_call(self, *, call_id: str, uniqueid: str, caller: str, caller_name: str, tag: str,
                            seat: str, agent: str, wait_s: float,
                            context: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ticket a seat's answer opens (or joins, when the call already has
        one), with the caller context of the screen pop."""
        ctx = context if context is not None else await self.caller_context(call_id, caller)
        now = self.clock()
        async with self.tx() as db:
            ticket = await db.scalar(select(Ticket).join(TicketCall, TicketCall.ticket_id == Ticket.id)
                                     .where(TicketCall.call_id == call_id).limit(1))
            if ticket is None:
                ticket = Ticket(number=await self._next_number(db, now), status=wf.Status.ACCEPTED.value,
                                channel="phone", caller=caller, caller_name=caller_name, call_id=call_id,
                                tag=tag or ctx["ivr_tag"], ivr_path=ctx["ivr_path"], agent=agent, seat=seat,
                                wait_s=wait_s, created_at=now, updated_at=now,
                                category=self._category_from_ivr(ctx["ivr_category"]))
                db.add(ticket)
                await db.flush()
                db.add(TicketEvent(ticket_id=ticket.id, at=now, actor=agent, action="accept", from_status="",
                                   to_status=ticket.status, note=f"{seat} 接听来电"))
            db.add(TicketCall(ticket_id=ticket.id, call_id=call_id, uniqueid=uniqueid, seat=seat, agent=agent,
                              answered_at=now, recording=f"{call_id}.wav"))
        history = [h for h in ctx["history"] if h["number"] != ticket.number]
        return {"ticket": self.views.row(ticket), "history": history, "repeat": ctx["repeat"] and bool(history)}

    def _category_from_ivr(self, name: str) -> str:
        """The IVR menu may already have asked what the call is about."""
        for node in self.tree.nodes.values():
            if name and name in (node.code, node.name):
                return node.code
        return ""

    async def create(self, channel: str, actor: str, body: dict[str, Any],
                     query_code_hash: str = "") -> dict[str, Any]:
        """A ticket from a gateway (web, WeChat, SMS, app, 110) or the public
        page: already described, offered to an agent off the lines."""
        found = await self.suspects(body)
        async with self.tx() as db:
            ticket = await self.insert(db, channel, actor, body, query_code_hash=query_code_hash, suspects=found)
        return self.views.row(ticket)

    async def suspects(self, body: dict[str, Any], caller: str | None = None,
                       number: str = "") -> list[duplicates.Candidate]:
        """Open tickets this request may repeat. Read before the write
        transaction: comparing texts must not hold up other writers."""
        def text(key: str) -> str:
            v = body.get(key)
            return v.strip() if type(v) is str else ""

        probe = duplicates.Probe(text("content"), caller if caller is not None else text("caller"), text("address"),
                                 text("category"), text("district"), number)
        if not probe.content:
            return []
        async with self.sessions() as db:
            return await duplicates.candidates(db, self.settings, probe, self.clock(), limit=1)

    async def insert(self, db: AsyncSession, channel: str, actor: str, body: dict[str, Any], *,
                     query_code_hash: str = "", offer: bool = True, call_id: str | None = None,
                     classified: bool = True, suspects: list[duplicates.Candidate] = (),
                     external_ref: str = "", caller_name: str = "", note: str = "") -> Ticket:
        """create() inside a caller's transaction. offer=False: the actor
        works it now (a voice message they answered), no intake item.
        classified=False: a citizen wrote it, the agent picks the category.
        suspects: what suspects() found before the transaction."""
        if channel not in CHANNELS or channel == "phone":
            raise BadRequest(f"未知渠道 {channel}", field="channel")
        form = self._read_form(body, require_content=True, require_category=classified)
        caller = body.get("caller", "")
        if type(caller) is not str:
            raise BadRequest("caller 必须是数字字符串", field="caller")
        if caller and (not ascii_digits(caller) or len(caller) > 20):
            raise BadRequest("caller 必须是 1-20 位数字", field="caller")
        now = self.clock()
        ticket = Ticket(number=await self._next_number(db, now), status=wf.Status.ACCEPTED.value,
                        channel=channel, caller=caller, agent=actor, created_at=now, updated_at=now,
                        confidential=flag(body, "confidential", False), ivr_path=[], call_id=call_id,
                        query_code_hash=query_code_hash, external_ref=external_ref,
                        **{k: v for k, v in form.items() if k != "handling"})
        if caller_name:
            ticket.caller_name = caller_name
        db.add(ticket)
        await db.flush()
        db.add(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, action="accept", from_status="",
                           to_status=ticket.status, note=note or f"{CHANNELS[channel]}渠道"))
        await self.outbox.on_move(db, ticket, "accept", "", "", now)
        if offer:
            await work_rows.enqueue(db, self.policy, kind="intake", now=now, ref=ticket.number,
                                    ticket_id=ticket.id, category=ticket.category,
                                    title=f"{CHANNELS[channel]}：{ticket.content[:60]}")
        await self._suspect_duplicate(db, ticket, suspects, now)
        return ticket

    async def assign(self, db: AsyncSession, ticket_id: int, agent: str) -> None:
        """An agent accepted the work on a ticket taken in elsewhere: theirs now."""
        await db.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.status == wf.Status.ACCEPTED.value)
                         .values(agent=agent))

    async def _suspect_duplicate(self, db: AsyncSession, t: Ticket, found: list[duplicates.Candidate],
                                 now: dt.datetime) -> None:
        if found:
            await work_rows.enqueue(db, self.policy, kind="duplicate", now=now, ref=t.number, ticket_id=t.id,
                                    category=t.category,
                                    title=f"{t.number} 疑似重复 {found[0].number}：{'、'.join(found[0].reasons)}")

    # -- desk --------------------------------------------------------------------------------
    async def open_ticket_of(self, agent: str) -> dict[str, Any] | None:
        """The agent's newest ticket still being taken, with its draft: what a
        reloaded desk shows again."""
        async with self.sessions() as db:
            t = await db.scalar(select(Ticket).where(Ticket.agent == agent, Ticket.channel == "phone",
                                                     Ticket.status == wf.Status.ACCEPTED.value)
                                .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
            if t is None:
                return None
            draft = await db.get(TicketDraft, t.id)
            history = await self._history(db, t.caller, t.id) if t.caller else []
        return {"ticket": self.views.row(t), "draft": draft.data if draft else {}, "history": history}

    async def save_draft(self, number: str, who: Identity, data: dict[str, Any]) -> dict[str, Any]:
        # A draft keeps what was typed; only text (or a number of days) is text.
        clean = {k: str(v)[:limit] for k, limit in {**FORM_TEXT, "handling": 16, "deadline_days": 8}.items()
                 if type(v := data.get(k)) in (str, int, float)}
        if "confidential" in data:
            clean["confidential"] = flag(data, "confidential", False)
        now = self.clock()
        async with self.tx() as db:
            t = await self._get(db, number)
            own(t, who)
            if t.status != wf.Status.ACCEPTED.value:
                raise wf.TransitionRefused("工单已提交，草稿不再保存", status=t.status)
            row = await db.get(TicketDraft, t.id)
            if row is None:
                db.add(TicketDraft(ticket_id=t.id, data=clean, updated_at=now, updated_by=who.username))
            else:
                row.data, row.updated_at, row.updated_by = clean, now, who.username
        return {"saved_at": now.isoformat(), "draft": clean}

    async def submit(self, number: str, who: Identity, body: dict[str, Any]) -> dict[str, Any]:
        """The agent's submit: answered on the spot (closed) or dispatched."""
        form = self._read_form(body, require_content=True)
        handling = body.get("handling")
        if handling not in ("answered", "dispatched"):
            raise BadRequest("handling 必须是 answered（当场答复）或 dispatched（派单）", field="handling")
        if handling == "answered" and not form.get("answer"):
            raise BadRequest("当场答复需要填写答复内容", field="answer")
        now = self.clock()
        found: list[duplicates.Candidate] = []
        if handling == "dispatched":
            async with self.sessions() as db:
                caller = (await self._get(db, number)).caller
            found = await self.suspects(body, caller, number)
        async with self.tx() as db:
            t = await self._get(db, number)
            own(t, who)
            action = "answer" if handling == "answered" else "dispatch"
            after = wf.transition(t.status, action, who.roles)
            apply_form(t, form)
            t.confidential = flag(body, "confidential", t.confidential)
            t.handling = handling
            note = ""
            if action == "dispatch":
                note = self._dispatch(t, body, now)
            else:
                t.closed_at = now
            await self._move(db, t, action, after, who.username, note, now)
            draft = await db.get(TicketDraft, t.id)
            if draft is not None:
                await db.delete(draft)
            if action == "dispatch" and t.channel == "phone":
                await self._suspect_duplicate(db, t, found, now)
        return self.views.row(t)

    def _dispatch(self, t: Ticket, body: dict[str, Any], now: dt.datetime) -> str:
        given = body.get("department")
        if given is not None and type(given) is not str:
            raise BadRequest("department 必须是部门代码", field="department")
        dept = given or t.department or ""
        if not dept:
            # 属地优先: the community owning the address, else the category's department.
            unit = self.tree.units.locate(t.address, t.district)
            node = self.tree.get(t.category)
            dept = unit.code if unit else node.department if node else ""
        if dept not in self.tree.departments:
            raise BadRequest("派单需要选择承办部门", field="department")
        node = self.tree.get(t.category)
        days = body.get("deadline_days")
        if days in (None, ""):
            days = node.deadline_days if node else self.cfg.deadline_days
        if type(days) is str:
            try:
                days = float(days)
            except ValueError:
                raise BadRequest("deadline_days 必须是天数", field="deadline_days") from None
        if type(days) not in (int, float) or days != days:  # NaN is no number of days
            raise BadRequest("deadline_days 必须是天数", field="deadline_days")
        if not 0 < days <= 365:
            raise BadRequest("办理时限必须在 0-365 天之间", field="deadline_days")
        t.department = dept
        t.deadline_at = now + dt.timedelta(days=days)
        return f"派往{self.tree.departments[dept].name}，时限 {days:g} 天"

    # -- workflow after the desk ------------------------------------------------------------------
    async def act(self, number: str, action: str, who: Identity, body: dict[str, Any]) -> dict[str, Any]:
        """Department feedback or return, re-dispatch, review of the feedback, revisit."""
        now = self.clock()
        note = body.get("note", "")
        if type(note) is not str:
            raise BadRequest("note 必须是文本", field="note")
        note = note.strip()
        if len(note) > 4000:
            raise BadRequest("说明最长 4000 字", field="note")
        async with self.tx() as db:
            t = await self._get(db, number)
            # Before any rule about the ticket's state: whatever a department
            # is refused must look the same as a ticket that does not exist.
            may_read(t, who)
            if unit_only(who) and t.department != who.department:
                raise NotYourTicket("这张工单不在本单位办理")
            if action == "revisit" and body.get("satisfied") is False:
                action = "reopen"
            after = wf.transition(t.status, action, who.roles)
            if action in ("return", "feedback") and not note:
                raise BadRequest("请填写" + ("退单理由" if action == "return" else "办理结果"), field="note")
            if action == "feedback":
                t.feedback, t.feedback_at = note, now
                t.revisit_due_at = now + dt.timedelta(days=self.cfg.revisit_days)
            elif action == "return":
                t.department, t.deadline_at = "", None
            elif action == "handover":
                to = body.get("department")
                if type(to) is not str or to not in self.tree.departments or to == t.department:
                    raise BadRequest("请选择接手的单位（部门或网格站）", field="department")
                if not note:
                    raise BadRequest("请填写转交理由", field="note")
                here = self.tree.departments.get(t.department)
                note = f"由{here.name if here else t.department}转交{self.tree.departments[to].name}：{note}"
                t.department = to
            elif action == "receive":
                note = note or "已签收"
            elif action == "note" and not note:
                raise BadRequest("请填写现场记录", field="note")
            elif action == "dispatch":
                form = self._read_form(body, require_content=False)
                apply_form(t, {k: v for k, v in form.items() if k == "category"})
                note = self._dispatch(t, body, now) + (f"；{note}" if note else "")
            elif action == "approve":
                if t.reviewed_at is not None:
                    raise wf.TransitionRefused("反馈已审核通过", action=action)
                t.reviewed_at = now
            elif action == "reject":
                if not note:
                    raise BadRequest("请填写审核退回的理由", field="note")
                t.feedback, t.feedback_at, t.revisit_due_at, t.reviewed_at = "", None, None, None
                note = "反馈审核未通过，退回承办部门重新办理：" + note
            elif action in ("revisit", "reopen"):
                t.revisit_note = note
                score = body.get("satisfaction")
                if score is not None:
                    if type(score) is not int or score not in wf.SATISFACTION:
                        raise BadRequest("satisfaction 是 1-5（1 非常满意 … 5 非常不满意）", field="satisfaction")
                    t.satisfaction, t.satisfaction_source = score, "revisit"
                if action == "reopen":
                    t.redispatches += 1
                    t.feedback, t.feedback_at, t.revisit_due_at = "", None, None
                    node = self.tree.get(t.category)
                    days = node.deadline_days if node else self.cfg.deadline_days
                    t.deadline_at = now + dt.timedelta(days=days)
                    note = "回访不满意，重新办理" + (f"：{note}" if note else "")
                else:
                    t.closed_at = now
            await self._move(db, t, action, after, who.username, note, now)
        return self.views.row(t)

    async def merge(self, number: str, into: str, who: Identity) -> dict[str, Any]:
        """并单: this ticket is the same matter as `into`; it closes here and is
        handled there, which keeps it (and its citizen) among its sources."""
        if number == into:
            raise BadRequest("不能并入自身", field="into")
        now = self.clock()
        async with self.tx() as db:
            t = await self._get(db, number)
            target = await self._get(db, into)
            may_read(t, who)
            may_read(target, who)
            if target.status == wf.Status.CLOSED.value or target.merged_into:
                raise wf.TransitionRefused(f"工单 {into} 已办结或已并入其他工单，不能并入", action="merge")
            after = wf.transition(t.status, "merge", who.roles)
            t.merged_into, t.handling, t.closed_at = target.number, "merged", now
            await self._move(db, t, "merge", after, who.username, f"并入工单 {target.number}", now)
            db.add(TicketEvent(ticket_id=target.id, at=now, actor=who.username, action="merge",
                               from_status=target.status, to_status=target.status,
                               note=f"工单 {t.number}（{CHANNELS.get(t.channel, t.channel)}）并入本工单"))
            # Merged into a ticket that has no caller yet, the citizen's number comes along.
            if not target.caller and t.caller:
                target.caller = t.caller
        return self.views.row(t)

    # What a ticket action ends and starts in the work queue (same transaction).
    # A closed ticket leaves no work behind (a duplicate suspicion about an
    # answered ticket is moot).
    _FINISHES = {"dispatch": ("intake", "redispatch"), "approve": ("review",), "reject": ("review",),
                 "reopen": ("review", "revisit")}
    _ALL_WORK = ("intake", "redispatch", "review", "revisit", "duplicate")

    async def _move(self, db: AsyncSession, t: Ticket, action: str, after: wf.Status, actor: str, note: str,
                    now: dt.datetime) -> None:
        db.add(TicketEvent(ticket_id=t.id, at=now, actor=actor, action=action, from_status=t.status,
                           to_status=after.value, note=note))
        t.status = after.value
        t.updated_at = now
        dept = self.tree.departments.get(t.department)
        await self.outbox.on_move(db, t, action, note, dept.name if dept else "", now)
        kinds = self._ALL_WORK if after == wf.Status.CLOSED else self._FINISHES.get(action, ())
        if kinds:
            await work_rows.finish(db, ticket_id=t.id, kinds=kinds, outcome=action, actor=actor, now=now)
        title = f"{t.number} {self.views.category_label(t.category) or '未分类'}"
        if action == "feedback":
            await work_rows.enqueue(db, self.policy, kind="review", now=now, ref=t.number, ticket_id=t.id,
                                    category=t.category, title=f"{title} 部门反馈待审核")
        elif action == "return":
            await work_rows.enqueue(db, self.policy, kind="redispatch", now=now, ref=t.number, ticket_id=t.id,
                                    category=t.category, title=f"{title} 被退回：{note[:40]}")
        elif action == "approve":
            delay = self.settings.work.revisit_delay_hours * 3600
            due = t.revisit_due_at.timestamp() if t.revisit_due_at else None
            await work_rows.enqueue(db, self.policy, kind="revisit", now=now, ref=t.number, ticket_id=t.id,
                                    category=t.category, title=f"{title} 待回访", due_at=due,
                                    not_before=now.timestamp() + delay)

    async def note(self, number: str, who: Identity, action: str, note: str) -> None:
        """Something done on the call (transfer, three-way) kept in the history."""
        async with self.tx() as db:
            t = await self._get(db, number)
            db.add(TicketEvent(ticket_id=t.id, at=self.clock(), actor=who.username, action=action,
                               from_status=t.status, to_status=t.status, note=note))

    async def set_satisfaction(self, call_id: str, score: int) -> str | None:
        """The caller's key from the post-call survey; returns the ticket number."""
        async with self.tx() as db:
            await db.execute(update(Call).where(Call.call_id == call_id).values(survey=score))
            t = await db.scalar(select(Ticket).join(TicketCall, TicketCall.ticket_id == Ticket.id)
                                .where(TicketCall.call_id == call_id).order_by(Ticket.id.desc()).limit(1))
            if t is None:
                return None
            t.satisfaction, t.satisfaction_source = score, "survey"
            db.add(TicketEvent(ticket_id=t.id, at=self.clock(), actor="survey", action="survey",
                               from_status=t.status, to_status=t.status, note=wf.SATISFACTION[score]))
            return t.number
