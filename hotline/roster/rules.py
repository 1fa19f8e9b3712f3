"""The roster's pure rules: when a shift runs, who was where, and how
attendance is judged against the agents' own logins.

Attendance of one agent on one shift, from the intervals they were logged
in: absent (never within the shift), late (the first login after start +
grace), left early (the last logout before end - grace, the shift over),
on time otherwise. Real-time adherence for the shifts running now: who is
due, who is present, who is late now, and who is logged in off the roster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from hotline.config import Shift

VERDICT_TEXT = {
    "on_time": "准时",
    "late": "迟到",
    "absent": "缺勤",
    "left_early": "早退",
    "late_left_early": "迟到且早退",
}


def _hm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


def span(day: dt.date, shift: Shift, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """When the shift of `day` starts and ends (a night shift ends the next day)."""
    start, end = _hm(shift.start), _hm(shift.end)
    opens = dt.datetime.combine(day, start, tzinfo=tz)
    closes = dt.datetime.combine(day + dt.timedelta(days=1 if end <= start else 0), end, tzinfo=tz)
    return opens, closes


@dataclass(frozen=True, slots=True)
class Entry:
    day: dt.date
    shift: str
    agent: str


@dataclass(frozen=True, slots=True)
class Interval:
    agent: str
    start: dt.datetime
    end: dt.datetime | None  # None: logged in still


@dataclass(frozen=True, slots=True)
class Attendance:
    entry: Entry
    verdict: str  # on_time | late | absent | left_early | late_left_early | due (not started) | running
    first_in: dt.datetime | None
    last_out: dt.datetime | None
    late_minutes: int = 0
    early_minutes: int = 0

    @property
    def text(self) -> str:
        return VERDICT_TEXT.get(self.verdict, {"due": "未开始", "running": "在岗中"}.get(self.verdict, self.verdict))


def judge(
    entry: Entry, shift: Shift, intervals: Iterable[Interval], tz: dt.tzinfo, now: dt.datetime, grace_minutes: int
) -> Attendance:
    opens, closes = span(entry.day, shift, tz)
    grace = dt.timedelta(minutes=grace_minutes)
    mine = [
        i
        for i in intervals
        if i.agent == entry.agent and i.start < closes and (i.end is None or i.end > opens - dt.timedelta(hours=2))
    ]
    within = [i for i in mine if i.start < closes and (i.end or now) > opens]
    if now < opens:
        return Attendance(entry, "due", None, None)
    if not within:
        return Attendance(entry, "absent" if now >= opens + grace else "due", None, None)
    first_in = min(i.start for i in within)
    ends = [i.end or now for i in within]
    last_out = max(ends)
    still_in = any(i.end is None for i in within)
    late = max(0, int((first_in - opens).total_seconds() // 60)) if first_in > opens + grace else 0
    if now < closes:
        return Attendance(entry, "late" if late else "running", first_in, None, late_minutes=late)
    early = 0 if still_in or last_out >= closes - grace else int((closes - last_out).total_seconds() // 60)
    verdict = "late_left_early" if late and early else "late" if late else "left_early" if early else "on_time"
    return Attendance(entry, verdict, first_in, None if still_in else last_out, late, early)


@dataclass(frozen=True, slots=True)
class Adherence:
    """The shifts running now against who is logged in (实时遵从度)."""

    shifts: tuple[tuple[str, int, int], ...]  # (shift name, due, present)
    late: tuple[str, ...]  # due now, not logged in after the grace
    off_roster: tuple[str, ...]  # logged in, due on no shift running now
    due: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "shifts": [{"shift": n, "due": d, "present": p} for n, d, p in self.shifts],
            "late": list(self.late),
            "off_roster": list(self.off_roster),
            "due": list(self.due),
        }


def adherence(
    entries: Iterable[Entry],
    shifts: dict[str, Shift],
    logged_in: set[str],
    tz: dt.tzinfo,
    now: dt.datetime,
    grace_minutes: int,
) -> Adherence:
    running: dict[str, list[str]] = {}
    for e in entries:
        shift = shifts.get(e.shift)
        if shift is None:
            continue
        opens, closes = span(e.day, shift, tz)
        if opens <= now < closes:
            running.setdefault(shift.code, []).append(e.agent)
    grace = dt.timedelta(minutes=grace_minutes)
    late: list[str] = []
    rows = []
    for code, agents in running.items():
        shift = shifts[code]
        present = [a for a in agents if a in logged_in]
        rows.append((shift.name, len(agents), len(present)))
        day = now.astimezone(tz).date()
        opens = min(span(d, shift, tz)[0] for d in (day, day - dt.timedelta(days=1)) if span(d, shift, tz)[1] > now)
        if now >= opens + grace:
            late += [a for a in agents if a not in logged_in]
    due = {a for agents in running.values() for a in agents}
    order = {s: i for i, s in enumerate(shifts)}
    rows.sort(key=lambda r: order.get(next((c for c, s in shifts.items() if s.name == r[0]), ""), 0))
    return Adherence(tuple(rows), tuple(sorted(set(late))), tuple(sorted(logged_in - due)), tuple(sorted(due)))
