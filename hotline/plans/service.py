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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.acd.service import AcdService
from hotline.config import Plan, Settings
from hotline.db.models import KbArticle, PlanRun, QueueCall
from hotline.errors import BadRequest, HotlineError
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.service import MAIN_FLOW, FlowService
from hotline.plans import rules
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)
SYSTEM = "系统"
TICK_S = 5.0
TOPICS_EVERY_S = 900.0  # the spike test runs jieba in a child: every quarter of an hour


class PlanRefused(HotlineError):
    error_id = "plan-refused"
    status = 409


class PlanService:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        acd: AcdService,
        flows: FlowService,
        announcements: AnnouncementService,
    ):
        self.plans = {p.code: p for p in settings.plans}
        self.sessions = sessions
        self.clock = clock
        self.acd = acd
        self.flows = flows
        self.announcements = announcements
        self.run: PlanRun | None = None
        self._pressure = {code: rules.Pressure() for code in self.plans}
        self._listeners: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()
        self._tasks = TaskSet("plans")
        # The briefings' spike test over the last 24 hours (plans/app.py); none: no suggestions.
        self.hot_topics: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None
        self.suggestions: list[dict[str, Any]] = []  # plans a hot topic suggests, for the lead to confirm

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    async def start_service(self) -> None:
        async with self.sessions() as db:
            self.run = await db.scalar(select(PlanRun).where(PlanRun.ended_at.is_(None)).order_by(PlanRun.id.desc()))
        if self.run is not None:
            # The overflow switch lives in memory: put the plan's back after a restart.
            for knob, _, value in self.run.changes.get("knobs", []):
                if knob == "overflow":
                    self._set_overflow(value)
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
        return [
            {
                "code": p.code,
                "name": p.name,
                "note": p.note,
                "sets": [rules.KNOB_TEXT[k] for k in rules.wanted(p)],
                "trigger": p.trigger.model_dump() if p.trigger else None,
                "dates": list(p.dates),
            }
            for p in self.plans.values()
        ]

    # -- the knobs ---------------------------------------------------------------------
    def _knobs(self) -> dict[str, Any]:
        flow = self.flows.current(MAIN_FLOW)
        return {
            "announcement": [self.announcements.active, self.announcements.text],
            "flow_version": flow.version if flow else None,
            "lines": self.acd.lines.override,
            "standby": self.acd.lines.standby_manual,
            "overflow": self.acd.acd.overflow.enabled,
        }

    async def _set(self, knob: str, value: Any, actor: str) -> None:
        if knob == "announcement":
            active, text = value
            await self.announcements.set(bool(active), str(text or "") if active else "", actor)
        elif knob == "flow_version" and value is not None:
            await self.flows.rollback(MAIN_FLOW, int(value), actor)
        elif knob == "lines":
            await self.acd.set_lines(value, actor)
        elif knob == "standby":
            await self.acd.set_standby(value, actor)
        elif knob == "overflow":
            self._set_overflow(bool(value))
            self.acd.note("overflow-policy", "", "溢出支援" + ("开启" if value else "关闭"), actor)

    def _set_overflow(self, on: bool) -> None:
        acd = self.acd
        acd.acd = acd.acd.model_copy(update={"overflow": acd.acd.overflow.model_copy(update={"enabled": on})})

    # -- start and end -----------------------------------------------------------------
    async def start(self, code: object, actor: str, reason: str) -> dict[str, Any]:
        plan = self.plans.get(code) if type(code) is str else None
        if plan is None:
            raise BadRequest(f"没有预案 {code!r}", field="code")
        async with self._lock:
            if self.run is not None:
                raise PlanRefused(f"预案「{self.run.name}」正在执行，请先结束它")
            recorded = rules.changes(plan, self._knobs())
            for c in recorded:
                await self._set(c.knob, c.plan, actor)
            run = PlanRun(
                code=plan.code,
                name=plan.name,
                started_at=self.clock(),
                started_by=actor,
                reason=reason[:200],
                changes={"knobs": [[c.knob, c.before, c.plan] for c in recorded]},
            )
            async with self.sessions() as db, db.begin():
                db.add(run)
            self.run = run
        self.suggestions = [f for f in self.suggestions if f["code"] != plan.code]
        self.acd.note("plan-start", "", f"启动预案「{plan.name}」" + (f"：{reason}" if reason else ""), actor)
        self._changed()
        return self.view() or {}

    async def end(self, actor: str, reason: str) -> dict[str, Any]:
        async with self._lock:
            run = self.run
            if run is None:
                raise PlanRefused("当前没有正在执行的预案")
            recorded = [rules.Change(k, before, plan) for k, before, plan in run.changes.get("knobs", [])]
            back, kept = rules.restore(recorded, self._knobs())
            for knob, value in back.items():
                await self._set(knob, value, actor)
            now = self.clock()
            async with self.sessions() as db, db.begin():
                row = await db.get(PlanRun, run.id)
                if row is not None:
                    row.ended_at, row.ended_by, row.end_reason = now, actor, reason[:200]
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

    # -- suggested by a hot topic ------------------------------------------------------
    async def check_topics(self) -> list[dict[str, Any]]:
        """Plans whose words a hot topic of the last 24 hours holds: shown to
        the lead, who starts the plan or not (never started by itself)."""
        wanting = {p.code: p.trigger.topics for p in self.plans.values() if p.trigger and p.trigger.topics}
        found: list[dict[str, Any]] = []
        if wanting and self.hot_topics is not None:
            for topic in await self.hot_topics():
                term = str(topic.get("term", ""))
                for code, words in wanting.items():
                    if any(w in term or term in w for w in words) and code not in {f["code"] for f in found}:
                        found.append(
                            {"code": code, "name": self.plans[code].name, "term": term, "count": topic.get("count", 0)}
                        )
        running = self.run.code if self.run else None
        found = [f for f in found if f["code"] != running]
        if found != self.suggestions:
            self.suggestions = found
            self._changed()
        return found

    # -- by themselves -----------------------------------------------------------------
    async def _watch(self) -> None:
        checked = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            try:
                if asyncio.get_running_loop().time() - checked >= TOPICS_EVERY_S:
                    checked = asyncio.get_running_loop().time()
                    await self.check_topics()
                await self.tick()
            except HotlineError as exc:
                log.warning("plans: %s", exc)
            except Exception:
                log.exception("plans: a trigger check failed")

    async def tick(self) -> None:
        """Triggers and dates: a plan starts by itself only when none runs."""
        now = self.clock()
        waiting = len(self.acd.waiting)
        for plan in self.plans.values():
            reason = await self._due(plan, now, waiting)
            if reason and self.run is None:
                await self.start(plan.code, SYSTEM, reason)

    async def _due(self, plan: Plan, now: dt.datetime, waiting: int) -> str:
        t = plan.trigger
        if t is not None and t.waiting_over is not None:
            held = self._pressure.setdefault(plan.code, rules.Pressure()).update(
                waiting, t.waiting_over, now.timestamp()
            )
            if held >= t.for_minutes * 60:
                return f"排队超过 {t.waiting_over} 人已持续 {t.for_minutes:g} 分钟"
        if t is not None and t.connection_below is not None:
            since = now.timestamp() - 1800
            async with self.sessions() as db:
                offered, answered = (
                    await db.execute(
                        select(func.count(), func.count(QueueCall.answered_at)).where(
                            QueueCall.joined_at >= since, QueueCall.queue == self.acd.acd.queue
                        )
                    )
                ).one()
            if offered >= 10 and answered / offered < t.connection_below:
                return f"近 30 分钟接通率 {100 * answered / offered:.0f}% 低于 {100 * t.connection_below:.0f}%"
        local = now.astimezone(self.acd.calendar.tz).date()
        if local.isoformat() in plan.dates and not await self._ran_on(plan.code, local):
            return f"按日程启动（{local.isoformat()}）"
        return ""

    async def _ran_on(self, code: str, day: dt.date) -> bool:
        start = dt.datetime.combine(day, dt.time(), tzinfo=self.acd.calendar.tz)
        async with self.sessions() as db:
            return bool(
                await db.scalar(
                    select(func.count()).select_from(PlanRun).where(PlanRun.code == code, PlanRun.started_at >= start)
                )
            )
