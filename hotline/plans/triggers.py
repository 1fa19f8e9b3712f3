"""A plan starting by itself: its trigger (callers piling up, connection
falling) or its dates; and plans a hot topic suggests to the lead.

In a cluster only the leader decides (`leads`), over every node's waiting
callers, so one surge starts one plan once; every controller then follows
the running plan (PlanService.follow)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hotline.db.models import PlanRun, QueueCall
from hotline.errors import HotlineError
from hotline.plans import rules

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from hotline.acd.service import AcdService
    from hotline.config import Plan

log = logging.getLogger(__name__)
SYSTEM = "系统"
TICK_S = 5.0
TOPICS_EVERY_S = 900.0  # the spike test runs jieba in a child: every quarter of an hour


class TriggerMixin:
    if TYPE_CHECKING:
        plans: dict[str, Plan]
        sessions: async_sessionmaker
        clock: Callable[[], dt.datetime]
        acd: AcdService
        run: PlanRun | None
        suggestions: list[dict[str, Any]]
        hot_topics: Callable[[], Awaitable[list[dict[str, Any]]]] | None
        _pressure: dict[str, rules.Pressure]
        leads: Callable[[], bool]  # whether this controller decides (a cluster's leader)

        def _changed(self) -> None: ...
        async def start(self, code: object, actor: str, reason: str) -> dict[str, Any]: ...

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
        """Triggers and dates: a plan starts by itself only when none runs,
        and only by the controller that decides."""
        if not self.leads():
            self._pressure.clear()  # a new leader counts the pressure afresh
            return
        now = self.clock()
        # Every node's callers: the leader's own and those the others published.
        waiting = len(self.acd.waiting) + len(self.acd.remote_waits)
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
