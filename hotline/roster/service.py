"""The roster (排班): entries written by the lead (on the page, or a file),
attendance judged against the agents' own logins (the ACD's audit), and
real-time adherence for the seat map."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.config import Settings
from hotline.db.models import AcdEvent, RosterEntry, User
from hotline.errors import BadRequest, HotlineError
from hotline.identity import Identity
from hotline.roles import Role
from hotline.roster import rules
from hotline.roster.swaps import Swaps


def named(view: dict[str, Any], name: Callable[[str], str]) -> dict[str, Any]:
    """What the lead reads: people's names, not user names."""
    return {**view, **{k: [name(a) for a in view[k]] for k in ("late", "off_roster", "due")}}


class RosterRefused(HotlineError):
    error_id = "roster-refused"
    status = 409


class RosterService:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        clock: Callable[[], dt.datetime],
        logged_in: Callable[[], set[str]],
        seat_names: Callable[[], dict[str, str]] = dict,
        settled: Callable[[], Awaitable[None]] | None = None,
    ):
        self.cfg = settings.roster
        # Waits for the logins and logouts already made to be stored (the
        # ACD writes them in batches): attendance is read from those rows.
        self.settled = settled
        self.sessions = sessions
        self.clock = clock
        self.logged_in = logged_in  # agents logged in at a seat now (the ACD's floor)
        self.seat_names = seat_names  # their names as they logged in
        self._names: dict[str, str] = {}
        self.tz = zoneinfo.ZoneInfo(settings.ivr.timezone)
        self.shifts = {s.code: s for s in self.cfg.shifts}
        self.by_name = {s.name: s for s in self.cfg.shifts}
        self._today: list[rules.Entry] = []  # yesterday's and today's, for adherence
        self._today_for: dt.date | None = None
        self.swaps = Swaps(sessions, clock, self.today, self.shifts, self._people)

    def today(self) -> dt.date:
        return self.clock().astimezone(self.tz).date()

    def shift_of(self, text: str) -> str:
        s = self.shifts.get(text) or self.by_name.get(text)
        if s is None:
            names = "、".join(f"{x.code}（{x.name}）" for x in self.cfg.shifts)
            raise BadRequest(f"没有班次 {text!r}，可选：{names}", field="shift")
        return s.code

    async def _people(self, names: set[str]) -> dict[str, str]:
        """Of these user names, the agents (and leads, who may take a line) that exist, with their names."""
        async with self.sessions() as db:
            rows = (
                await db.execute(select(User.username, User.display_name, User.roles).where(User.username.in_(names)))
            ).all()
        staff = {Role.AGENT.value, Role.LEAD.value, Role.LAWYER.value}
        return {u: n for u, n, roles in rows if staff & set((roles or "").split(","))}

    async def entries(self, start: dt.date, days: int) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            rows = (
                await db.scalars(
                    select(RosterEntry)
                    .where(RosterEntry.day >= start, RosterEntry.day < start + dt.timedelta(days=days))
                    .order_by(RosterEntry.day, RosterEntry.shift, RosterEntry.agent)
                )
            ).all()
        names = await self._people({r.agent for r in rows})
        return [
            {
                "id": r.id,
                "day": r.day.isoformat(),
                "shift": r.shift,
                "shift_name": self.shifts[r.shift].name if r.shift in self.shifts else r.shift,
                "agent": r.agent,
                "agent_name": names.get(r.agent, r.agent),
            }
            for r in rows
        ]

    async def add(self, rows: list[tuple[object, object, object]], who: Identity) -> dict[str, Any]:
        """Entries (day, shift code or name, agent): each checked; all or none."""
        parsed: list[tuple[dt.date, str, str]] = []
        problems: list[str] = []
        for i, (day_text, shift_text, agent) in enumerate(rows, start=1):
            try:
                if type(day_text) is not str or type(shift_text) is not str or type(agent) is not str:
                    raise BadRequest("日期、班次、坐席账号都应是文字", field="rows")
                try:
                    day = dt.date.fromisoformat(day_text.strip())
                except ValueError:
                    raise BadRequest(f"日期 {day_text!r} 应为 YYYY-MM-DD", field="day") from None
                parsed.append((day, self.shift_of(shift_text.strip()), agent.strip()))
            except BadRequest as exc:
                problems.append(f"第 {i} 行：{exc}")
        given = {a.strip() for _, _, a in rows if type(a) is str and a.strip()}
        known = await self._people(given)
        problems += [f"{a}：不是坐席账号" for a in sorted(given - known.keys())]
        if problems:
            raise BadRequest("；".join(problems[:20]) + ("……" if len(problems) > 20 else ""), field="rows")
        now = self.clock()
        added = 0
        async with self.sessions() as db, db.begin():
            have = set(
                (
                    await db.execute(
                        select(RosterEntry.day, RosterEntry.shift, RosterEntry.agent).where(
                            RosterEntry.day.in_({d for d, _, _ in parsed})
                        )
                    )
                ).all()
            )
            for day, shift, agent in dict.fromkeys(parsed):
                if (day, shift, agent) in have:
                    continue
                db.add(RosterEntry(day=day, shift=shift, agent=agent, added_by=who.username, added_at=now))
                added += 1
        self._today_for = None
        return {"added": added, "unchanged": len(parsed) - added}

    async def remove(self, entry_id: int) -> None:
        async with self.sessions() as db, db.begin():
            res = await db.execute(delete(RosterEntry).where(RosterEntry.id == entry_id))
        if res.rowcount != 1:
            raise RosterRefused(f"没有排班记录 {entry_id}")
        self._today_for = None

    async def intervals(self, start: dt.datetime, end: dt.datetime) -> list[rules.Interval]:
        """Who was logged in when, from the ACD's logins and logouts (by seat)."""
        if self.settled is not None:
            await self.settled()
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(AcdEvent.at, AcdEvent.kind, AcdEvent.seat, AcdEvent.actor)
                    .where(AcdEvent.kind.in_(("login", "logout")), AcdEvent.at < end)
                    .where(AcdEvent.at >= start - dt.timedelta(days=2))
                    .order_by(AcdEvent.id)
                )
            ).all()
        open_at: dict[str, tuple[str, dt.datetime]] = {}
        out: list[rules.Interval] = []
        for at, kind, seat, actor in rows:
            if kind == "login":
                open_at[seat] = (actor, at)
            elif seat in open_at:
                agent, since = open_at.pop(seat)
                out.append(rules.Interval(agent, since, at))
        now_in = self.logged_in()
        out += [rules.Interval(a, since, None if a in now_in else since) for a, since in open_at.values()]
        return out

    async def attendance(self, month: str) -> list[rules.Attendance]:
        try:
            first = dt.date.fromisoformat(month + "-01")
        except ValueError:
            raise BadRequest("month 的格式是 YYYY-MM", field="month") from None
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        async with self.sessions() as db:
            rows = (
                await db.scalars(
                    select(RosterEntry)
                    .where(RosterEntry.day >= first, RosterEntry.day < nxt)
                    .order_by(RosterEntry.day, RosterEntry.shift, RosterEntry.agent)
                )
            ).all()
        start = dt.datetime.combine(first, dt.time(), tzinfo=self.tz)
        end = dt.datetime.combine(nxt + dt.timedelta(days=1), dt.time(8), tzinfo=self.tz)
        spans = await self.intervals(start, end)
        now = self.clock()
        return [
            rules.judge(
                rules.Entry(r.day, r.shift, r.agent), self.shifts[r.shift], spans, self.tz, now, self.cfg.grace_minutes
            )
            for r in rows
            if r.shift in self.shifts
        ]

    async def adherence(self) -> rules.Adherence:
        today = self.today()
        if self._today_for != today:
            async with self.sessions() as db:
                rows = (
                    await db.scalars(
                        select(RosterEntry).where(
                            RosterEntry.day >= today - dt.timedelta(days=1), RosterEntry.day <= today
                        )
                    )
                ).all()
            self._today = [rules.Entry(r.day, r.shift, r.agent) for r in rows]
            self._names = await self._people({r.agent for r in rows})
            self._today_for = today
        return rules.adherence(
            self._today, self.shifts, self.logged_in(), self.tz, self.clock(), self.cfg.grace_minutes
        )

    def name(self, agent: str) -> str:
        """The person's name for a user name (the roster's agents, and whoever is at a seat)."""
        return self.namer()(agent)

    def namer(self) -> Callable[[str], str]:
        """name() for many agents at once: the seats are read once (per agent,
        a floor of 5,000 seats made the seat map's refresh quadratic)."""
        at_seats = self.seat_names()
        return lambda agent: self._names.get(agent) or at_seats.get(agent) or agent
