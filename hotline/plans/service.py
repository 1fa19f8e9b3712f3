"""Contingency plans (应急预案): started and ended with one switch by the
lead, on the days a plan names, or by its trigger; each run stored with
what it changed, so its end restores exactly that (plans/rules.py) and a
controller that restarts goes on with the running plan."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.acd.service import AcdService
from hotline.config import Plan, Settings
from hotline.db.models import KbArticle, PlanRun
from hotline.errors import BadRequest, HotlineError
from hotline.plans import rules
from hotline.plans.book import PlanBook, PlanExists, PlanNotFound, parse
from hotline.plans.knobs import Knobs
from hotline.plans.triggers import TriggerMixin
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


class PlanRefused(HotlineError):
    error_id = "plan-refused"
    status = 409


class PlanService(TriggerMixin):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        acd: AcdService,
        knobs: Knobs,
    ):
        self.book = PlanBook(settings.plans, sessions, clock)
        self.plans = dict(self.book.configured)
        self.sessions = sessions
        self.clock = clock
        self.acd = acd
        self.knobs = knobs
        self.run: PlanRun | None = None
        self._pressure = {code: rules.Pressure() for code in self.plans}
        self._listeners: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()
        self._tasks = TaskSet("plans")
        # The briefings' spike test over the last 24 hours (plans/app.py); none: no suggestions.
        self.hot_topics: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None
        self.suggestions: list[dict[str, Any]] = []  # plans a hot topic suggests, for the lead to confirm
        self.leads: Callable[[], bool] = lambda: True  # a cluster's leader alone starts plans by trigger

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    async def reload(self) -> None:
        """The plans as prepared now (the file's and the page's); a running plan runs on."""
        self.plans = await self.book.load()
        self._changed()

    async def prepare(self, body: dict[str, Any], actor: str, code: str | None) -> dict[str, Any]:
        """An admin's new plan (code None) or edit of plan `code` (its code stays)."""
        plan = parse(body)
        if code is None and plan.code in self.plans:
            raise PlanExists(f"已有编号为 {plan.code} 的预案")
        if code is not None and code not in self.plans:
            raise PlanNotFound(f"没有预案 {code}")
        if code is not None and plan.code != code:
            raise BadRequest("编号不能修改", field="code")
        await self.book.save(plan, actor)
        await self.reload()
        return self._entry(plan)

    async def discard(self, code: str, actor: str) -> None:
        if code not in self.plans:
            raise PlanNotFound(f"没有预案 {code}")
        if self.run is not None and self.run.code == code:
            raise PlanRefused("预案正在执行，结束后才能删除")
        await self.book.delete(code, actor)
        await self.reload()

    async def start_service(self) -> None:
        self.plans = await self.book.load()
        async with self.sessions() as db:
            self.run = await db.scalar(select(PlanRun).where(PlanRun.ended_at.is_(None)).order_by(PlanRun.id.desc()))
        if self.run is not None:
            await self.knobs.reapply(self.run.changes.get("knobs", []), self.run.name)
        self._tasks.spawn(self._watch(), name="plans-triggers")

    async def close(self) -> None:
        await self._tasks.close()

    def view(self) -> dict[str, Any] | None:
        r = self.run
        if r is None:
            return None
        plan = self.plans.get(r.code)
        return {
            "code": r.code,
            "name": r.name,
            "note": plan.note if plan else "",
            "since": r.started_at.isoformat(),
            "by": r.started_by,
            "reason": r.reason,
            "pinned": list(plan.pinned) if plan else [],
        }

    def catalogue(self) -> list[dict[str, Any]]:
        return [self._entry(p) for p in self.plans.values()]

    def _entry(self, p: Plan) -> dict[str, Any]:
        return {
            "code": p.code,
            "name": p.name,
            "note": p.note,
            "sets": [rules.KNOB_TEXT[k] for k in rules.wanted(p)],
            "describe": rules.describe(p),
            "trigger": p.trigger.model_dump() if p.trigger else None,
            "dates": list(p.dates),
            "plan": p.model_dump(mode="json"),
            "running": self.run is not None and self.run.code == p.code,
        } | self.book.origin(p.code)

    # -- start and end -----------------------------------------------------------------
    async def start(self, code: object, actor: str, reason: str) -> dict[str, Any]:
        plan = self.plans.get(code) if type(code) is str else None
        if plan is None:
            raise BadRequest(f"没有预案 {code!r}", field="code")
        async with self._lock:
            if self.run is not None:
                raise PlanRefused(f"预案「{self.run.name}」正在执行，请先结束它")
            recorded = rules.changes(plan, self.knobs.read())
            run = PlanRun(
                code=plan.code,
                name=plan.name,
                started_at=self.clock(),
                started_by=actor,
                reason=reason[:200],
                changes={"knobs": [[c.knob, c.before, c.plan] for c in recorded]},
            )
            # The run is claimed before any knob turns: a plan another
            # controller started a moment ago (not yet followed here) wins.
            try:
                async with self.sessions() as db, db.begin():
                    db.add(run)
            except IntegrityError:
                raise PlanRefused("另一预案刚由其他值班长启动，请刷新后再看") from None
            self.run = run
            for c in recorded:
                await self.knobs.set(c.knob, c.plan, actor, plan.name)
        self.suggestions = [f for f in self.suggestions if f["code"] != plan.code]
        self.acd.note("plan-start", "", f"启动预案「{plan.name}」" + (f"：{reason}" if reason else ""), actor)
        self._changed()
        return self.view() or {}

    async def end(self, actor: str, reason: str) -> dict[str, Any]:
        async with self._lock:
            run = self.run
            if run is None:
                raise PlanRefused("当前没有正在执行的预案")
            now = self.clock()
            async with self.sessions() as db, db.begin():
                ended = await db.execute(
                    update(PlanRun)
                    .where(PlanRun.id == run.id, PlanRun.ended_at.is_(None))
                    .values(ended_at=now, ended_by=actor, end_reason=reason[:200])
                )
            if ended.rowcount == 0:
                raise PlanRefused("预案已由其他值班长结束")
            recorded = [rules.Change(k, before, plan) for k, before, plan in run.changes.get("knobs", [])]
            back, kept = rules.restore(recorded, self.knobs.read())
            for knob, value in back.items():
                await self.knobs.set(knob, value, actor, run.name)
            if "lines" in kept:  # the lead's count stays; the plan's goes
                await self.knobs.set("lines", None, actor, run.name)
            self.run = None
        left = f"；保留值班长期间的调整：{'、'.join(rules.KNOB_TEXT[k] for k in kept)}" if kept else ""
        self.acd.note(
            "plan-end", "", f"结束预案「{run.name}」，已恢复原设置{left}" + (f"（{reason}）" if reason else ""), actor
        )
        self._changed()
        return {
            "ended": run.code,
            "restored": [rules.KNOB_TEXT[k] for k in back],
            "kept": [rules.KNOB_TEXT[k] for k in kept],
        }

    async def follow(self) -> None:
        """After each heartbeat in a cluster: a plan another controller
        started or ended, and plans edited there. The shared settings (lines,
        standby, the flow, the notice) came with the database; the ones this
        controller holds itself (overflow, the callback offer of its own PBX)
        follow here, and its seat map and desks show the plan."""
        plans = await self.book.load()
        async with self.sessions() as db:
            row = await db.scalar(select(PlanRun).where(PlanRun.ended_at.is_(None)).order_by(PlanRun.id.desc()))
        changed = plans != self.plans
        self.plans = plans
        async with self._lock:
            mine = self.run
            if (row.id if row else None) != (mine.id if mine else None):
                changed = True
                if mine is not None:
                    await self.knobs.unapply(mine.changes.get("knobs", []))
                    self.acd.note("plan-end", "", f"预案「{mine.name}」已在其他节点结束，本节点设置已恢复", store=False)
                if row is not None:
                    await self.knobs.reapply(row.changes.get("knobs", []), row.name)
                    self.acd.note(
                        "plan-start", "", f"预案「{row.name}」已在其他节点启动（{row.started_by}）", store=False
                    )
                self.run = row
        if changed:
            self._changed()

    async def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            rows = (await db.scalars(select(PlanRun).order_by(PlanRun.id.desc()).limit(limit))).all()
        return [
            {
                "code": r.code,
                "name": r.name,
                "started_at": r.started_at.isoformat(),
                "started_by": r.started_by,
                "reason": r.reason,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "ended_by": r.ended_by,
                "end_reason": r.end_reason,
            }
            for r in rows
        ]

    async def pinned(self) -> list[dict[str, str]]:
        """The running plan's knowledge-base articles, for every desk."""
        titles = (self.view() or {}).get("pinned") or []
        if not titles:
            return []
        async with self.sessions() as db:
            rows = (await db.scalars(select(KbArticle).where(KbArticle.title.in_(titles)))).all()
        by_title = {a.title: a for a in rows}
        return [{"title": t, "body": by_title[t].body} for t in titles if t in by_title]
