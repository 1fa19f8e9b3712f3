"""Which schedule window is open now: day/night, lawyer hours, holidays."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from hotline.config import IvrSettings, Schedule


def _hm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


@dataclass(frozen=True)
class Calendar:
    schedules: dict[str, Schedule]
    holidays: frozenset[dt.date]
    tz: zoneinfo.ZoneInfo

    @classmethod
    def from_settings(cls, ivr: IvrSettings) -> Calendar:
        return cls(
            dict(ivr.schedules),
            frozenset(dt.date.fromisoformat(d) for d in ivr.holidays),
            zoneinfo.ZoneInfo(ivr.timezone),
        )

    def local(self, now: dt.datetime) -> dt.datetime:
        return now.astimezone(self.tz)

    def is_holiday(self, now: dt.datetime) -> bool:
        return self.local(now).date() in self.holidays

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() <= 5 and day not in self.holidays

    def add_working_days(self, now: dt.datetime, days: float) -> dt.datetime:
        """The same local time `days` working days later (weekends and
        holidays skipped); a fraction of a day counts as hours."""
        local = self.local(now)
        whole, fraction = int(days), days - int(days)
        while whole > 0:
            local += dt.timedelta(days=1)
            if self.is_working_day(local.date()):
                whole -= 1
        return local + dt.timedelta(days=fraction)

    def next_window(self, name: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
        """(start, end) of the schedule's current or next window, holidays
        skipped (a rota has no hours on a holiday); None if it has none."""
        sched = self.schedules.get(name)
        if sched is None or not sched.weekdays:
            return None
        local = self.local(now)
        start, end = _hm(sched.start), _hm(sched.end)
        for days in range(-1, 400):
            day = local.date() + dt.timedelta(days=days)
            if day.isoweekday() not in sched.weekdays or day in self.holidays:
                continue
            opens = dt.datetime.combine(day, start, tzinfo=self.tz)
            closes = dt.datetime.combine(day + dt.timedelta(days=1 if end <= start else 0), end, tzinfo=self.tz)
            if closes > local:
                return max(opens, local), closes
        return None

    def within(self, name: str, now: dt.datetime) -> bool:
        sched = self.schedules.get(name)
        if sched is None:
            return False
        local = self.local(now)
        start, end = _hm(sched.start), _hm(sched.end)
        t = local.time()
        if start == end:
            # Opening and closing at one time is a window round the clock (as next_window() reads it).
            return local.isoweekday() in sched.weekdays
        if start < end:
            return local.isoweekday() in sched.weekdays and start <= t < end
        # A window across midnight (e.g. 20:00-08:00) belongs to the day it starts.
        if t >= start:
            return local.isoweekday() in sched.weekdays
        return (local - dt.timedelta(days=1)).isoweekday() in sched.weekdays and t < end
