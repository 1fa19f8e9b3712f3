"""Which schedule window is open now: day/night, lawyer hours, holidays.

Holidays and make-up working days (调休) are the State Council's (from the
chinese-calendar package) with the local dates of the configuration on
top. A make-up working day counts as a working day: a schedule open on
every working day (Monday to Friday) is open on it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from hotline.config import IvrSettings, Schedule
from hotline.official_calendar import NONE, OfficialDays, coverage_warning


def _hm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


WORKING_DAYS = frozenset(range(1, 6))


@dataclass(frozen=True)
class Calendar:
    schedules: dict[str, Schedule]
    holidays: frozenset[dt.date]
    tz: zoneinfo.ZoneInfo
    workdays: frozenset[dt.date] = frozenset()  # weekend days worked (调休)
    known_until: int = 0  # the last year the official calendar knows
    local_days: frozenset[dt.date] = frozenset()  # the configuration's own dates

    @classmethod
    def from_settings(cls, ivr: IvrSettings) -> Calendar:
        official = OfficialDays.load() if ivr.official_calendar else NONE
        local_holidays = frozenset(dt.date.fromisoformat(d) for d in ivr.holidays)
        local_workdays = frozenset(dt.date.fromisoformat(d) for d in ivr.workdays)
        return cls(
            dict(ivr.schedules),
            (official.holidays - local_workdays) | local_holidays,
            zoneinfo.ZoneInfo(ivr.timezone),
            (official.workdays - local_holidays) | local_workdays,
            official.last_year,
            local_holidays | local_workdays,
        )

    def coverage_warning(self, now: dt.datetime) -> str:
        """For the admin: years the official calendar does not know yet."""
        if not self.known_until:
            return ""
        return coverage_warning(self.known_until, self.local_days, self.local(now).date())

    def open_on(self, sched: Schedule, day: dt.date) -> bool:
        """Whether the schedule has hours on this day (a make-up working day is a working day)."""
        if day in self.workdays and day.isoweekday() > 5:
            return WORKING_DAYS <= set(sched.weekdays)
        return day.isoweekday() in sched.weekdays

    def local(self, now: dt.datetime) -> dt.datetime:
        return now.astimezone(self.tz)

    def is_holiday(self, now: dt.datetime) -> bool:
        return self.local(now).date() in self.holidays

    def is_working_day(self, day: dt.date) -> bool:
        return day in self.workdays or (day.isoweekday() <= 5 and day not in self.holidays)

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
            if not self.open_on(sched, day) or day in self.holidays:
                continue
            opens = dt.datetime.combine(day, start, tzinfo=self.tz)
            closes = dt.datetime.combine(day + dt.timedelta(days=1 if end <= start else 0), end, tzinfo=self.tz)
            if closes > local:
                return max(opens, local), closes
        return None

    def next_change(self, now: dt.datetime) -> dt.datetime:
        """The next moment within() or is_holiday() may answer differently:
        a window's start or end, or local midnight (weekdays and holidays
        change only there)."""
        local = self.local(now)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=self.tz)
        times = {_hm(s.start) for s in self.schedules.values()} | {_hm(s.end) for s in self.schedules.values()}
        today = [dt.datetime.combine(local.date(), t, tzinfo=self.tz) for t in times]
        return min([t for t in today if t > local] + [midnight])

    def within(self, name: str, now: dt.datetime) -> bool:
        sched = self.schedules.get(name)
        if sched is None:
            return False
        local = self.local(now)
        start, end = _hm(sched.start), _hm(sched.end)
        t = local.time()
        today = local.date()
        if start == end:
            # Opening and closing at one time is a window round the clock (as next_window() reads it).
            return self.open_on(sched, today)
        if start < end:
            return self.open_on(sched, today) and start <= t < end
        # A window across midnight (e.g. 20:00-08:00) belongs to the day it starts.
        if t >= start:
            return self.open_on(sched, today)
        return self.open_on(sched, today - dt.timedelta(days=1)) and t < end
