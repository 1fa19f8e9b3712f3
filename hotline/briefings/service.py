"""Making briefings: read the period's tickets, find the hot topics and draw
the PDF in child processes, keep the result in the archive. The schedule
that makes them by themselves is briefings/schedule.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.briefings import compose, render
from hotline.briefings.facts import read_facts
from hotline.briefings.periods import KIND_TEXT, Kind, Period, containing
from hotline.children import run_module
from hotline.config import Settings
from hotline.db.models import Briefing, Ticket, TicketEvent, User
from hotline.errors import HotlineError
from hotline.tickets.categories import CategoryTree

log = logging.getLogger(__name__)

# A child that takes longer than this is stuck (a month of a large city's
# tickets segments in well under a minute).
CHILD_TIMEOUT_S = 300.0
DAY = dt.timedelta(days=1)
# Texts sent to the segmenter per database round trip.
FEED_BATCH = 500


class BriefingFailed(HotlineError):
    error_id = "briefing-failed"
    status = 503


class Briefings:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], dt.datetime],
        tree: CategoryTree,
        standards: Callable[[dt.datetime, dt.datetime], Awaitable[dict[str, Any]]],
        quality: Callable[[dt.datetime, dt.datetime], Awaitable[list[dict[str, Any]]]] | None = None,
    ):
        """quality(start, end): the period's quality checks per rostered shift."""
        self.settings = settings
        self.cfg = settings.briefings
        self.sessions = sessions
        self.clock = clock
        self.tree = tree
        self.standards = standards
        self.quality = quality
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self.cache_dir = Path(settings.state_dir) / "cache"
        # One briefing at a time: each runs two children of tens of megabytes.
        self._one = asyncio.Lock()

    # -- periods ---------------------------------------------------------------------------------
    def _bounds(self, first: dt.date, after: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(first, dt.time(), tzinfo=self.tz),
            dt.datetime.combine(after, dt.time(), tzinfo=self.tz),
        )

    def period_of(self, kind: Kind, day: dt.date) -> Period:
        return containing(kind, day)

    # -- making one ------------------------------------------------------------------------------
    async def make(
        self,
        period: Period,
        by: str = "",
        scheduled: bool = False,
        before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> Briefing:
        """before_commit runs in the transaction that keeps the briefing (the
        schedule's cluster-wide decision); what it raises keeps nothing."""
        async with self._one:
            if scheduled:
                async with self.sessions() as db:
                    have = await db.scalar(select(Briefing).where(Briefing.scheduled_key == period.key))
                if have is not None:
                    return have
            data = await self.contents(period)
            page = render.html(data, links=False, nav=False).encode("utf-8")

            async def feed(stdin: asyncio.StreamWriter) -> None:
                stdin.write(page)

            pdf = await self._child("hotline.briefings.pdf", feed)
            row = Briefing(
                kind=period.kind.value,
                first_day=period.first.isoformat(),
                after_day=period.after.isoformat(),
                title=data["title"],
                scheduled_key=period.key if scheduled else None,
                created_at=self.clock(),
                created_by=by,
                data=data,
                pdf=pdf,
            )
            async with self.sessions() as db:
                db.add(row)
                if before_commit is not None:
                    await before_commit(db)
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
            facts = await read_facts(db, Ticket.created_at >= base_start, Ticket.created_at < end)
            # Tickets made earlier that came due, were answered or closed in the period.
            touched = await read_facts(
                db,
                Ticket.created_at < start,
                or_(
                    and_(Ticket.deadline_at >= start, Ticket.deadline_at < end),
                    and_(Ticket.feedback_at >= start, Ticket.feedback_at < end),
                    and_(Ticket.closed_at >= start, Ticket.closed_at < end),
                ),
            )
            returns = (
                await db.scalars(
                    select(User.department)
                    .join(TicketEvent, TicketEvent.actor == User.username)
                    .where(TicketEvent.action == "return", TicketEvent.at >= start, TicketEvent.at < end)
                )
            ).all()
        in_period = [f for f in facts.values() if f.created_at >= start]
        in_ids = {f.id for f in in_period}
        previous_total = sum(1 for f in facts.values() if prev_start <= f.created_at < start)
        topics = await self._topics(start, base_start, end) if in_period else []
        hotline = await self.standards(start, end)
        shifts = await self.quality(start, end) if self.quality is not None else []
        cfg = self.cfg
        repeats, repeats_total = compose.repeats(
            list(facts.values()), in_ids, cfg.repeat_min, self.tree, self.tz, cfg.repeats_listed
        )
        return {
            "kind": period.kind.value,
            "kind_text": KIND_TEXT[period.kind],
            "title": period.title,
            "first_day": period.first.isoformat(),
            "after_day": period.after.isoformat(),
            "until": now.astimezone(self.tz).strftime("%m月%d日 %H:%M") if now < end else None,
            "generated_at": now.isoformat(),
            "generated_text": now.astimezone(self.tz).strftime("%Y-%m-%d %H:%M"),
            "volumes": compose.volumes(in_period, self.tree, previous_total),
            # A ticket written after the facts were read may be in a topic: it waits for the next briefing.
            "hot_topics": [
                {**t, "tickets": [compose.brief_row(facts[i], self.tree, self.tz) for i in t["tickets"] if i in facts]}
                for t in topics
            ],
            "repeats": repeats,
            "repeats_total": repeats_total,
            "departments": compose.departments([*in_period, *touched.values()], returns, start, end, now, self.tree),
            "hotline": {
                "offered": hotline["offered"],
                "answered": hotline["answered"],
                "figures": [
                    {k: f[k] for k in ("name", "value", "numerator", "denominator", "target", "met")}
                    for f in hotline["figures"]
                ],
                "plans": hotline.get("plans", []),
            },
            "quality": {
                "checked": sum(r["checked"] for r in shifts),
                "flagged": sum(r["flagged"] for r in shifts),
                "shifts": shifts,
            },
            "settings": {
                "baseline_text": (
                    f"{max(1, cfg.baseline_weeks // 4)} 个月"
                    if period.kind is Kind.MONTHLY
                    else f"{cfg.baseline_weeks} 周"
                ),
                "hot_min_tickets": cfg.hot_min_tickets,
                "hot_ratio": cfg.hot_ratio,
                "repeat_min": cfg.repeat_min,
            },
        }

    async def hot_topics_now(self) -> list[dict[str, Any]]:
        """The last 24 hours' hot topics (plans' suggestions), one segmenter child at a time."""
        async with self._one:
            return await self._topics((t := self.clock()) - DAY, t - DAY * (1 + 7 * self.cfg.baseline_weeks), t)

    async def _topics(self, start: dt.datetime, base_start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """The period's and the baseline's ticket texts go to the segmenter as
        they are read, one line each: neither this process nor the child holds
        them all (a month of a large city and the weeks it is measured against)."""
        os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
        words = [*self.cfg.extra_words, *(n.name for n in self.tree.nodes.values()), *self.tree.units.place_names()]
        options = {
            "extra_words": words,
            "cache_dir": str(self.cache_dir),
            "min_tickets": self.cfg.hot_min_tickets,
            "ratio": self.cfg.hot_ratio,
            "limit": self.cfg.hot_topics,
        }

        async def feed(stdin: asyncio.StreamWriter) -> None:
            stdin.write(_line(options))
            async with self.sessions() as db:
                for tag, since, until in (("p", start, end), ("b", base_start, start)):
                    rows = await db.stream(
                        select(Ticket.id, Ticket.content)
                        .where(Ticket.created_at >= since, Ticket.created_at < until, Ticket.merged_into == "")
                        .execution_options(yield_per=FEED_BATCH)
                    )
                    async for batch in rows.partitions():
                        stdin.write(b"".join(_line([tag, tid, text]) for tid, text in batch))
                        await stdin.drain()

        out = await self._child("hotline.briefings.topics", feed)
        topics: list[dict[str, Any]] = json.loads(out)["topics"]
        return topics

    async def _child(self, module: str, feed: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> bytes:
        """Run `python -m module`, `feed` writing its stdin while its output is read."""
        code, out, err = await run_module(module, feed, CHILD_TIMEOUT_S)
        if code != 0:
            log.error("briefing step %s failed (%s): %s", module, code, err.decode(errors="replace")[-2000:])
            raise BriefingFailed(f"简报生成失败（{module.rsplit('.', 1)[-1]}），详见服务日志")
        return out


def _line(item: object) -> bytes:
    return json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n"
