"""Making briefings: read the period's tickets, find the hot topics and draw
the PDF in child processes, keep the result in the archive; and the
schedule that makes the daily, weekly and monthly ones by themselves."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sys
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.briefings import compose, render
from hotline.briefings.periods import KIND_TEXT, Kind, Period, containing, due, next_run
from hotline.config import Settings
from hotline.db.models import Briefing, Ticket, TicketEvent, User
from hotline.errors import HotlineError
from hotline.tasks import TaskSet
from hotline.tickets.categories import CategoryTree

log = logging.getLogger(__name__)

# A child that takes longer than this is stuck (a month of a large city's
# tickets segments in well under a minute).
CHILD_TIMEOUT_S = 300.0


class BriefingFailed(HotlineError):
    error_id = "briefing-failed"
    status = 503


class Briefings:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], dt.datetime],
                 tree: CategoryTree, standards: Callable[[dt.datetime, dt.datetime], Awaitable[dict[str, Any]]]):
        self.settings = settings
        self.cfg = settings.briefings
        self.sessions = sessions
        self.clock = clock
        self.tree = tree
        self.standards = standards
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self.cache_dir = Path(settings.state_dir) / "cache"
        # One briefing at a time: each runs two children of tens of megabytes.
        self._one = asyncio.Lock()
        self._tasks = TaskSet("briefings")

    # -- periods ---------------------------------------------------------------------------------
    def _bounds(self, first: dt.date, after: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.combine(first, dt.time(), tzinfo=self.tz),
                dt.datetime.combine(after, dt.time(), tzinfo=self.tz))

    def period_of(self, kind: Kind, day: dt.date) -> Period:
        return containing(kind, day)

    # -- making one ------------------------------------------------------------------------------
    async def make(self, period: Period, by: str = "", scheduled: bool = False) -> Briefing:
        async with self._one:
            if scheduled:
                async with self.sessions() as db:
                    have = await db.scalar(select(Briefing).where(Briefing.scheduled_key == period.key))
                if have is not None:
                    return have
            data = await self.contents(period)
            pdf = await self._child("hotline.briefings.pdf",
                                    render.html(data, links=False, nav=False).encode("utf-8"))
            row = Briefing(kind=period.kind.value, first_day=period.first.isoformat(),
                           after_day=period.after.isoformat(), title=data["title"],
                           scheduled_key=period.key if scheduled else None, created_at=self.clock(),
                           created_by=by, data=data, pdf=pdf)
            async with self.sessions() as db:
                db.add(row)
                try:
                    await db.commit()
                except IntegrityError:  # another controller made the scheduled one meanwhile
                    await db.rollback()
                    have = await db.scalar(select(Briefing).where(Briefing.scheduled_key == period.key))
                    if have is None:
                        raise
                    return have
            return row

    async def contents(self, period: Period) -> dict[str, Any]:
        # A period that has not ended is counted up to now: nothing later exists yet.
        now = self.clock()
        start, end = self._bounds(period.first, period.after)
        base_first, _ = period.baseline(self.cfg.baseline_weeks)
        base_start, _ = self._bounds(base_first, period.first)
        prev = containing(period.kind, period.first - dt.timedelta(days=1))
        prev_start, _ = self._bounds(prev.first, prev.after)
        async with self.sessions() as db:
            window = (await db.execute(select(*_FACT_COLUMNS, Ticket.content).where(
                Ticket.created_at >= base_start, Ticket.created_at < end, Ticket.merged_into == ""))).all()
            # Tickets made earlier that came due, were answered or closed in the period.
            touched = (await db.execute(select(*_FACT_COLUMNS).where(
                Ticket.created_at < start, Ticket.merged_into == "",
                or_(and_(Ticket.deadline_at >= start, Ticket.deadline_at < end),
                    and_(Ticket.feedback_at >= start, Ticket.feedback_at < end),
                    and_(Ticket.closed_at >= start, Ticket.closed_at < end))))).all()
            returns = (await db.scalars(select(User.department).join(
                TicketEvent, TicketEvent.actor == User.username).where(
                TicketEvent.action == "return", TicketEvent.at >= start, TicketEvent.at < end))).all()
        facts = {r.id: compose.TicketFact(*r[:len(_FACT_COLUMNS)]) for r in window}
        content = {r.id: r.content for r in window}
        in_period = [f for f in facts.values() if f.created_at >= start]
        in_ids = {f.id for f in in_period}
        previous_total = sum(1 for f in facts.values() if prev_start <= f.created_at < start)
        topics = await self._topics([(f.id, content[f.id]) for f in in_period],
                                    [content[f.id] for f in facts.values() if f.id not in in_ids])
        hotline = await self.standards(start, end)
        cfg = self.cfg
        repeats, repeats_total = compose.repeats(list(facts.values()), in_ids, cfg.repeat_min, self.tree, self.tz,
                                                 cfg.repeats_listed)
        return {
            "kind": period.kind.value, "kind_text": KIND_TEXT[period.kind], "title": period.title,
            "first_day": period.first.isoformat(), "after_day": period.after.isoformat(),
            "until": now.astimezone(self.tz).strftime("%m月%d日 %H:%M") if now < end else None,
            "generated_at": now.isoformat(), "generated_text": now.astimezone(self.tz).strftime("%Y-%m-%d %H:%M"),
            "volumes": compose.volumes(in_period, self.tree, previous_total),
            "hot_topics": [{**t, "tickets": [compose.brief_row(facts[i], self.tree, self.tz) for i in t["tickets"]]}
                           for t in topics],
            "repeats": repeats, "repeats_total": repeats_total,
            "departments": compose.departments([*in_period, *(compose.TicketFact(*r) for r in touched)],
                                               returns, start, end, now, self.tree),
            "hotline": {"offered": hotline["offered"], "answered": hotline["answered"],
                        "figures": [{k: f[k] for k in ("name", "value", "numerator", "denominator", "target", "met")}
                                    for f in hotline["figures"]]},
            "settings": {"baseline_text": (f"{max(1, cfg.baseline_weeks // 4)} 个月" if period.kind is Kind.MONTHLY
                                           else f"{cfg.baseline_weeks} 周"),
                         "hot_min_tickets": cfg.hot_min_tickets, "hot_ratio": cfg.hot_ratio,
                         "repeat_min": cfg.repeat_min},
        }

    async def _topics(self, period: list[tuple[int, str]], baseline: list[str]) -> list[dict[str, Any]]:
        if not period:
            return []
        os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
        words = [*self.cfg.extra_words, *(n.name for n in self.tree.nodes.values()),
                 *self.tree.units.place_names()]
        job = {"period": period, "baseline": baseline,
               "options": {"extra_words": words, "cache_dir": str(self.cache_dir),
                           "min_tickets": self.cfg.hot_min_tickets, "ratio": self.cfg.hot_ratio,
                           "limit": self.cfg.hot_topics}}
        out = await self._child("hotline.briefings.topics", json.dumps(job, ensure_ascii=False).encode("utf-8"))
        topics: list[dict[str, Any]] = json.loads(out)["topics"]
        return topics

    async def _child(self, module: str, stdin: bytes) -> bytes:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", module, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), CHILD_TIMEOUT_S)
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode != 0:
            log.error("briefing step %s failed (%s): %s", module, proc.returncode, err.decode(errors="replace")[-2000:])
            raise BriefingFailed(f"简报生成失败（{module.rsplit('.', 1)[-1]}），详见服务日志")
        return out

    # -- the schedule ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.schedule:
            self._tasks.spawn(self._schedule(), name="briefing-schedule")

    async def close(self) -> None:
        await self._tasks.close(grace=0.0)

    async def run_due(self) -> list[Briefing]:
        """Make the scheduled briefings that are due and not yet made."""
        at = dt.time.fromisoformat(self.cfg.at)
        made = []
        for p in due(self.clock().astimezone(self.tz).replace(tzinfo=None), at):
            made.append(await self.make(p, scheduled=True))
        return made

    async def _schedule(self) -> None:
        at = dt.time.fromisoformat(self.cfg.at)
        while True:
            try:
                await self.run_due()
            except Exception:  # a bad night must not stop tomorrow's briefing
                log.exception("scheduled briefing failed; trying again within the hour")
            now = self.clock().astimezone(self.tz)
            wait = (next_run(now.replace(tzinfo=None), at) - now.replace(tzinfo=None)).total_seconds()
            # Looked at hourly at least: the clock may be changed, a failure retried.
            await asyncio.sleep(min(max(wait, 1.0), 3600.0))


_FACT_COLUMNS = (Ticket.id, Ticket.number, Ticket.created_at, Ticket.channel, Ticket.category, Ticket.district,
                 Ticket.address, Ticket.department, Ticket.status, Ticket.deadline_at, Ticket.feedback_at,
                 Ticket.closed_at, Ticket.satisfaction, Ticket.redispatches)
