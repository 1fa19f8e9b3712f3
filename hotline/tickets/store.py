"""The ticket store: numbers, the hand-off of calls, the workflow, views.

Every method is one short transaction and returns plain dicts; a caller that
got an answer may rely on it being on disk (SQLite: WAL + synchronous=FULL;
PostgreSQL: a committed transaction).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.accounts import Identity
from hotline.config import Settings
from hotline.db.models import Call, KbArticle, Ticket, TicketCall, TicketDraft, TicketEvent, TicketSequence
from hotline.errors import BadRequest, HotlineError
from hotline.numbers import ascii_digits, mask_number
from hotline.tickets import workflow as wf
from hotline.tickets.categories import CategoryTree
from hotline.roles import Role

CHANNELS = {"phone": "电话", "web": "网站", "wechat": "微信", "sms": "短信", "app": "移动应用", "110": "110 转办"}
PRIVILEGED = frozenset({Role.LEAD, Role.ADMIN})
_FORM_TEXT = {"category": 32, "district": 32, "address": 256, "content": 4000, "answer": 4000,
              "caller_name": 64, "department": 32}


_SEED = Path(__file__).with_name("kb_seed.yaml")
_FTS = text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q ORDER BY bm25(kb_fts) LIMIT :limit")


class TicketNotFound(HotlineError):
    error_id = "ticket-not-found"
    status = 404


class NotYourTicket(HotlineError):
    error_id = "ticket-not-yours"
    status = 403


class TicketStore:
    def __init__(self, settings: Settings, sessions: async_sessionmaker, clock: Callable[[], dt.datetime]):
        self.settings = settings
        self.cfg = settings.tickets
        self.sessions = sessions
        self.clock = clock
        self.tree = CategoryTree(settings.tickets)
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (on SQLite, queued behind the engine's write lock)."""
        async with self.sessions() as db, db.begin():
            yield db

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
        async with self._tx() as db:
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
        return {"ticket": self._row(ticket), "history": history, "repeat": ctx["repeat"] and bool(history)}

    def _category_from_ivr(self, name: str) -> str:
        """The IVR menu may already have asked what the call is about."""
        for node in self.tree.nodes.values():
            if name and name in (node.code, node.name):
                return node.code
        return ""

    async def _history(self, db: AsyncSession, caller: str, exclude: int) -> list[dict[str, Any]]:
        rows = (await db.scalars(select(Ticket).where(Ticket.caller == caller, Ticket.id != exclude)
                                 .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                 .limit(self.cfg.history_limit))).all()
        return [{"number": t.number, "status": t.status, "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
                 "created_at": t.created_at.isoformat(), "category": self._category_label(t.category),
                 "content": t.content[:80]} for t in rows]

    def _category_label(self, code: str) -> str:
        node = self.tree.get(code)
        return node.label if node else code

    # -- other channels --------------------------------------------------------------------
    async def create(self, channel: str, actor: str, body: dict[str, Any]) -> dict[str, Any]:
        """A ticket from a gateway (web, WeChat, SMS, app, 110): already described."""
        if channel not in CHANNELS or channel == "phone":
            raise BadRequest(f"未知渠道 {channel}", field="channel")
        form = self._form(body, require_content=True)
        caller = body.get("caller", "")
        if type(caller) is not str:
            raise BadRequest("caller 必须是数字字符串", field="caller")
        if caller and (not ascii_digits(caller) or len(caller) > 20):
            raise BadRequest("caller 必须是 1-20 位数字", field="caller")
        now = self.clock()
        async with self._tx() as db:
            ticket = Ticket(number=await self._next_number(db, now), status=wf.Status.ACCEPTED.value,
                            channel=channel, caller=caller, agent=actor, created_at=now, updated_at=now,
                            confidential=_flag(body, "confidential", False), ivr_path=[],
                            **{k: v for k, v in form.items() if k != "handling"})
            db.add(ticket)
            await db.flush()
            db.add(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, action="accept", from_status="",
                               to_status=ticket.status, note=f"{CHANNELS[channel]}渠道"))
        return self._row(ticket)

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
        return {"ticket": self._row(t), "draft": draft.data if draft else {}, "history": history}

    async def save_draft(self, number: str, who: Identity, data: dict[str, Any]) -> dict[str, Any]:
        # A draft keeps what was typed; only text (or a number of days) is text.
        clean = {k: str(v)[:limit] for k, limit in {**_FORM_TEXT, "handling": 16, "deadline_days": 8}.items()
                 if type(v := data.get(k)) in (str, int, float)}
        if "confidential" in data:
            clean["confidential"] = _flag(data, "confidential", False)
        now = self.clock()
        async with self._tx() as db:
            t = await self._get(db, number)
            self._own(t, who)
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
        form = self._form(body, require_content=True)
        handling = body.get("handling")
        if handling not in ("answered", "dispatched"):
            raise BadRequest("handling 必须是 answered（当场答复）或 dispatched（派单）", field="handling")
        if handling == "answered" and not form.get("answer"):
            raise BadRequest("当场答复需要填写答复内容", field="answer")
        now = self.clock()
        async with self._tx() as db:
            t = await self._get(db, number)
            self._own(t, who)
            action = "answer" if handling == "answered" else "dispatch"
            after = wf.transition(t.status, action, who.roles)
            self._apply_form(t, form)
            t.confidential = _flag(body, "confidential", t.confidential)
            t.handling = handling
            note = ""
            if action == "dispatch":
                note = self._dispatch(t, body, now)
            else:
                t.closed_at = now
            self._move(db, t, action, after, who.username, note, now)
            draft = await db.get(TicketDraft, t.id)
            if draft is not None:
                await db.delete(draft)
        return self._row(t)

    def _dispatch(self, t: Ticket, body: dict[str, Any], now: dt.datetime) -> str:
        given = body.get("department")
        if given is not None and type(given) is not str:
            raise BadRequest("department 必须是部门代码", field="department")
        dept = given or t.department or ""
        if not dept:
            node = self.tree.get(t.category)
            dept = node.department if node else ""
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

    def _form(self, body: dict[str, Any], *, require_content: bool) -> dict[str, Any]:
        form: dict[str, Any] = {}
        for key, limit in _FORM_TEXT.items():
            v = body.get(key)
            if v is None:
                continue
            if not isinstance(v, str):
                raise BadRequest(f"{key} 必须是文本", field=key)
            if len(v) > limit:
                raise BadRequest(f"{key} 最长 {limit} 字", field=key)
            form[key] = v.strip()
        if form.get("category") and self.tree.get(form["category"]) is None:
            raise BadRequest(f"未知分类 {form['category']}", field="category")
        if form.get("district") and form["district"] not in self.cfg.districts:
            raise BadRequest(f"未知属地 {form['district']}", field="district")
        if form.get("department") and form["department"] not in self.tree.departments:
            raise BadRequest(f"未知部门 {form['department']}", field="department")
        if require_content:
            if not form.get("content"):
                raise BadRequest("请填写诉求内容", field="content")
            if not form.get("category"):
                raise BadRequest("请选择诉求分类", field="category")
        return form

    @staticmethod
    def _apply_form(t: Ticket, form: dict[str, Any]) -> None:
        for key, value in form.items():
            setattr(t, key, value)

    # -- workflow after the desk ------------------------------------------------------------------
    async def act(self, number: str, action: str, who: Identity, body: dict[str, Any]) -> dict[str, Any]:
        """Department feedback or return, re-dispatch, revisit."""
        now = self.clock()
        note = body.get("note", "")
        if type(note) is not str:
            raise BadRequest("note 必须是文本", field="note")
        note = note.strip()
        if len(note) > 4000:
            raise BadRequest("说明最长 4000 字", field="note")
        async with self._tx() as db:
            t = await self._get(db, number)
            # Before any rule about the ticket's state: whatever a department
            # is refused must look the same as a ticket that does not exist.
            self._may_read(t, who)
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
            elif action == "dispatch":
                form = self._form(body, require_content=False)
                self._apply_form(t, {k: v for k, v in form.items() if k == "category"})
                note = self._dispatch(t, body, now) + (f"；{note}" if note else "")
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
            self._move(db, t, action, after, who.username, note, now)
        return self._row(t)

    @staticmethod
    def _move(db: AsyncSession, t: Ticket, action: str, after: wf.Status, actor: str, note: str,
              now: dt.datetime) -> None:
        db.add(TicketEvent(ticket_id=t.id, at=now, actor=actor, action=action, from_status=t.status,
                           to_status=after.value, note=note))
        t.status = after.value
        t.updated_at = now

    async def note(self, number: str, who: Identity, action: str, note: str) -> None:
        """Something done on the call (transfer, three-way) kept in the history."""
        async with self._tx() as db:
            t = await self._get(db, number)
            db.add(TicketEvent(ticket_id=t.id, at=self.clock(), actor=who.username, action=action,
                               from_status=t.status, to_status=t.status, note=note))

    async def set_satisfaction(self, call_id: str, score: int) -> str | None:
        """The caller's key from the post-call survey; returns the ticket number."""
        async with self._tx() as db:
            await db.execute(update(Call).where(Call.call_id == call_id).values(survey=score))
            t = await db.scalar(select(Ticket).join(TicketCall, TicketCall.ticket_id == Ticket.id)
                                .where(TicketCall.call_id == call_id).order_by(Ticket.id.desc()).limit(1))
            if t is None:
                return None
            t.satisfaction, t.satisfaction_source = score, "survey"
            db.add(TicketEvent(ticket_id=t.id, at=self.clock(), actor="survey", action="survey",
                               from_status=t.status, to_status=t.status, note=wf.SATISFACTION[score]))
            return t.number

    # -- reading -------------------------------------------------------------------------------------
    async def _get(self, db: AsyncSession, number: str) -> Ticket:
        t = await db.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise TicketNotFound(f"工单 {number} 不存在", number=number)
        return t

    @staticmethod
    def _own(t: Ticket, who: Identity) -> None:
        if t.agent != who.username and not (who.roles & PRIVILEGED):
            raise NotYourTicket("这张工单由其他坐席受理")

    async def get(self, number: str, who: Identity) -> dict[str, Any]:
        async with self.sessions() as db:
            t = await self._get(db, number)
            self._may_read(t, who)
            events = (await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                                       .order_by(TicketEvent.id))).all()
            calls = (await db.scalars(select(TicketCall).where(TicketCall.ticket_id == t.id)
                                      .order_by(TicketCall.id))).all()
        view = self.view(t, who)
        view["history"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                            "action_text": wf.ACTION_TEXT.get(e.action, e.action), "from": e.from_status,
                            "to": e.to_status, "note": e.note} for e in events]
        view["calls"] = [{"call_id": c.call_id, "seat": c.seat, "agent": c.agent,
                          "answered_at": c.answered_at.isoformat(),
                          "recording": None if c.recording_purged or not c.recording else
                          f"/api/recordings/{c.call_id}"} for c in calls]
        return view

    @staticmethod
    def _may_read(t: Ticket, who: Identity) -> None:
        """Departments see their own tickets; another department's ticket is
        answered exactly as a missing one, so its number's existence leaks not."""
        if Role.DEPARTMENT in who.roles and not (who.roles & PRIVILEGED) and not (
                {Role.AGENT} & who.roles) and t.department != who.department:
            raise TicketNotFound(f"工单 {t.number} 不存在", number=t.number)

    def view(self, t: Ticket, who: Identity | None) -> dict[str, Any]:
        row = self._row(t)
        # Confidential callers are shown only to the agent who took the call,
        # the shift lead and admins.
        if t.confidential and not (who is not None and (who.roles & PRIVILEGED or who.username == t.agent)):
            row["caller"] = mask_number(t.caller)
            row["caller_name"] = "*" * len(t.caller_name) if t.caller_name else ""
            row["address"] = "（保密）" if t.address else ""
            row["masked"] = True
        return row

    def _row(self, t: Ticket) -> dict[str, Any]:
        dept = self.tree.departments.get(t.department)
        return {
            "number": t.number, "status": t.status, "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
            "channel": t.channel, "channel_text": CHANNELS.get(t.channel, t.channel), "caller": t.caller,
            "caller_name": t.caller_name, "call_id": t.call_id, "tag": t.tag, "ivr_path": t.ivr_path,
            "category": t.category, "category_text": self._category_label(t.category), "district": t.district,
            "address": t.address, "content": t.content, "handling": t.handling, "answer": t.answer,
            "department": t.department, "department_text": dept.name if dept else "",
            "deadline_at": t.deadline_at.isoformat() if t.deadline_at else None,
            "feedback": t.feedback, "feedback_at": t.feedback_at.isoformat() if t.feedback_at else None,
            "revisit_due_at": t.revisit_due_at.isoformat() if t.revisit_due_at else None,
            "revisit_note": t.revisit_note, "satisfaction": t.satisfaction,
            "satisfaction_text": wf.SATISFACTION.get(t.satisfaction or 0, ""),
            "satisfaction_source": t.satisfaction_source, "confidential": t.confidential, "agent": t.agent,
            "seat": t.seat, "wait_s": t.wait_s, "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat(), "closed_at": t.closed_at.isoformat() if t.closed_at else None,
            "redispatches": t.redispatches, "masked": False,
        }

    async def search(self, who: Identity, *, status: str | None = None, caller: str | None = None,
                     department: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q: Select[tuple[Ticket]] = select(Ticket)
        if status:
            q = q.where(Ticket.status == status)
        if caller:
            q = q.where(Ticket.caller == caller)
        if Role.DEPARTMENT in who.roles and not (who.roles & (PRIVILEGED | {Role.AGENT})):
            department = who.department or "-"
        if department:
            q = q.where(Ticket.department == department)
        async with self.sessions() as db:
            rows = (await db.scalars(q.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                     .limit(max(1, min(limit, 500))))).all()
        return [self.view(t, who) for t in rows]

    async def ledger(self, who: Identity | None) -> list[dict[str, Any]]:
        """督办台账: tickets past a deadline, the most overdue first."""
        now = self.clock()
        async with self.sessions() as db:
            rows = (await db.scalars(select(Ticket).where(or_(
                (Ticket.status == wf.Status.DISPATCHED.value) & (Ticket.deadline_at < now),
                (Ticket.status == wf.Status.FEEDBACK.value) & (Ticket.revisit_due_at < now),
            )))).all()
        out = []
        for t in rows:
            due = t.deadline_at if t.status == wf.Status.DISPATCHED.value else t.revisit_due_at
            assert due is not None
            row = self.view(t, who)
            row["overdue_hours"] = round((now - due).total_seconds() / 3600, 1)
            row["overdue_stage"] = "办理超时" if t.status == wf.Status.DISPATCHED.value else "回访超时"
            out.append(row)
        return sorted(out, key=lambda r: -r["overdue_hours"])

    async def counts(self) -> dict[str, int]:
        """Tickets by status, and how many are overdue (for the metrics)."""
        async with self.sessions() as db:
            rows = (await db.execute(select(Ticket.status, func.count()).group_by(Ticket.status))).all()
        out = {status: int(n) for status, n in rows}
        out["overdue"] = len(await self.ledger(None))
        return out

    async def count(self) -> int:
        async with self.sessions() as db:
            return int(await db.scalar(select(func.count()).select_from(Ticket)) or 0)

    # -- knowledge base ------------------------------------------------------------------------------
    async def kb_search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        query = query.strip()
        if not query:
            return []
        if len(query) > 100:
            raise BadRequest("搜索词最长 100 字", field="q")
        async with self.sessions() as db:
            if db.bind.dialect.name == "sqlite" and len(query) >= 3:
                # FTS5 trigram: any run of three characters, ranked by bm25.
                phrase = '"' + query.replace('"', '""') + '"'
                result = await db.execute(_FTS, {"q": phrase, "limit": limit})
                ids = [r[0] for r in result]
            else:
                like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                ids = list((await db.scalars(select(KbArticle.id).where(or_(
                    KbArticle.title.like(like, escape="\\"), KbArticle.body.like(like, escape="\\")))
                    .order_by(KbArticle.id).limit(limit))).all())
            arts = {a.id: a for a in (await db.scalars(select(KbArticle).where(KbArticle.id.in_(ids)))).all()}
        return [{"id": i, "title": arts[i].title, "body": arts[i].body,
                 "category": self._category_label(arts[i].category)} for i in ids if i in arts]

    async def seed_kb(self) -> None:
        """The shipped first articles, into an empty knowledge base only."""
        async with self.sessions() as db:
            if await db.scalar(select(func.count()).select_from(KbArticle)):
                return
        for a in yaml.safe_load(_SEED.read_text(encoding="utf-8")):
            await self.kb_add(a["title"], a["body"], a.get("category", ""))

    async def kb_add(self, title: str, body: str, category: str = "") -> int:
        if not title.strip() or not body.strip():
            raise BadRequest("标题和正文都不能为空")
        async with self._tx() as db:
            a = KbArticle(title=title.strip()[:128], body=body.strip(), category=category, updated_at=self.clock())
            db.add(a)
            await db.flush()
            return a.id


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if type(value) is not bool:
        raise BadRequest(f"{key} 必须是 true 或 false", field=key)
    return value
