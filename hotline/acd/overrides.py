"""The shift lead's overrides of the line plan: how many lines, standby on
or off. Stored before the lead is answered and restored after a restart.
A contingency plan's count is kept by the plan's run (plans/service.py) and
shared here too. In a cluster the lead may act at any controller: each
takes the shared row over with every heartbeat (`sync_intent`), so the
leader plans with the lead's choices wherever they were made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.acd import lines as ln
from hotline.config import AcdSettings
from hotline.db.models import AcdIntent
from hotline.ivr.schedule import Calendar


class LeadOverrides:
    """The AcdService's overrides (a base class: they change its line plan)."""

    acd: AcdSettings
    lines: ln.Lines
    calendar: Calendar
    sessions: async_sessionmaker
    clock: Callable[[], dt.datetime]
    note: Callable[..., None]
    overflow_exempt: frozenset[str]
    _recompute: Callable[[], None]
    _intent_seen: tuple[object, ...] | None = None

    async def set_lines(self, count: int | None, actor: str) -> None:
        # The window as set here: a follower's recompute shows the leader's lines until it takes this over.
        lines = self.lines = ln.set_override(self.lines, count)
        self.note("lines-override", "", f"值班长将线路数设为 {count}" if count is not None else "恢复按排班", actor)
        self._recompute()
        await self._store_intent(
            lines_override=count, lines_window=lines.override_window, lines_set_at=self.clock(), lines_actor=actor
        )

    async def set_plan_lines(self, count: int | None, actor: str, name: str) -> None:
        """A plan's count (None: the plan ended). Starting, it takes over from
        a lead's override of the window, which the plan records to restore."""
        if count is not None and self.lines.override is not None:
            self.lines = ln.set_override(self.lines, None)
            await self._store_intent(lines_override=None, lines_window="", lines_set_at=self.clock(), lines_actor=actor)
        self.lines = replace(self.lines, plan=count)
        await self._store_intent(plan_lines=count)
        text = (
            f"预案「{name}」将线路数设为 {count}" if count is not None else f"预案「{name}」结束，线路数不再由预案决定"
        )
        self.note("lines-plan", "", text, actor)
        self._recompute()

    async def set_standby(self, active: bool | None, actor: str) -> None:
        self.lines = replace(self.lines, standby_manual=active)
        self.note(
            "standby-manual", "", {True: "值班长开启备班", False: "值班长关闭备班", None: "备班恢复自动"}[active], actor
        )
        self._recompute()
        await self._store_intent(standby_manual=active, standby_actor=actor)

    async def set_overflow_exempt(self, agent: str, exempt: bool, actor: str) -> None:
        """The lead keeps an agent off overflow (or lets them be pulled again)."""
        self.overflow_exempt = self.overflow_exempt | {agent} if exempt else self.overflow_exempt - {agent}
        self.note("overflow-policy", "", f"{agent} " + ("不参与溢出" if exempt else "恢复参与溢出"), actor)
        self._recompute()
        await self._store_intent(overflow_exempt=",".join(sorted(self.overflow_exempt)))

    async def _store_intent(self, **values: object) -> None:
        """Stored before the lead is answered: a crash right after still keeps it."""
        async with self.sessions() as db, db.begin():
            await db.execute(update(AcdIntent).where(AcdIntent.id == 1).values(**values))

    async def _restore_intent(self) -> None:
        async with self.sessions() as db:
            row = await db.get(AcdIntent, 1)
        if row is None:
            return
        self._intent_seen = _intent_key(row)
        self.overflow_exempt = frozenset(a for a in (row.overflow_exempt or "").split(",") if a)
        self.lines = ln.restored(
            self.acd,
            self.calendar,
            self.clock(),
            row.lines_override,
            row.lines_window,
            row.lines_set_at,
            row.standby_manual,
        )
        if self.lines.override is not None:
            self.note("lines-override", "", f"重启后沿用值班长设定的线路数 {self.lines.override}", row.lines_actor)
        if self.lines.standby_manual is not None:
            self.note(
                "standby-manual",
                "",
                "重启后沿用值班长的备班设定：" + ("开启" if self.lines.standby_manual else "关闭"),
                row.standby_actor,
            )

    async def sync_intent(self) -> None:
        """Take over what the lead chose at another controller since the last look."""
        async with self.sessions() as db:
            row = await db.get(AcdIntent, 1)
        if row is None or _intent_key(row) == self._intent_seen:
            return
        self._intent_seen = _intent_key(row)
        self.overflow_exempt = frozenset(a for a in (row.overflow_exempt or "").split(",") if a)
        lines = replace(self.lines, standby_manual=row.standby_manual, plan=row.plan_lines)
        if row.lines_override is None or row.lines_window == lines.window:
            lines = ln.set_override(lines, row.lines_override)
        self.lines = lines
        self._recompute()


def _intent_key(row: AcdIntent) -> tuple[object, ...]:
    return (
        row.lines_override,
        row.lines_window,
        row.lines_set_at,
        row.standby_manual,
        row.overflow_exempt,
        row.plan_lines,
    )
