"""Which days a briefing covers and when the scheduled ones are due, in the
city's time. Pure: the service passes the clock in."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


KIND_TEXT = {Kind.DAILY: "日报", Kind.WEEKLY: "周报", Kind.MONTHLY: "月报"}


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    first: dt.date  # the first day covered
    after: dt.date  # the day after the last one covered

    @property
    def days(self) -> int:
        return (self.after - self.first).days

    @property
    def key(self) -> str:
        """One scheduled briefing per key: 'weekly:2026-11-16'."""
        return f"{self.kind.value}:{self.first.isoformat()}"

    @property
    def title(self) -> str:
        last = self.after - dt.timedelta(days=1)
        if self.kind is Kind.DAILY:
            return f"{self.first.year}年{self.first.month}月{self.first.day}日"
        if self.kind is Kind.MONTHLY:
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first.year}年{self.first.month}月{self.first.day}日至{last.month}月{last.day}日"

    def baseline(self, weeks: int) -> tuple[dt.date, dt.date]:
        """The stretch just before the period that hot topics are measured
        against: `weeks` weeks (for a month, a month per four weeks)."""
        if self.kind is Kind.MONTHLY:
            # Months differ in length: the `weeks`/4 months before (at least one).
            months = max(1, weeks // 4)
            first = self.first
            for _ in range(months):
                first = (first - dt.timedelta(days=1)).replace(day=1)
            return first, self.first
        return self.first - dt.timedelta(weeks=weeks), self.first


def containing(kind: Kind, day: dt.date) -> Period:
    """The period of this kind that holds `day` (weeks run Monday to Sunday)."""
    if kind is Kind.DAILY:
        return Period(kind, day, day + dt.timedelta(days=1))
    if kind is Kind.WEEKLY:
        first = day - dt.timedelta(days=day.weekday())
        return Period(kind, first, first + dt.timedelta(days=7))
    first = day.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(kind, first, after)


def last_complete(kind: Kind, now: dt.datetime) -> Period:
    """The latest period of this kind that has ended by `now` (city time)."""
    return containing(kind, containing(kind, now.date()).first - dt.timedelta(days=1))


def publish_time(period: Period, at: dt.time) -> dt.datetime:
    """A scheduled briefing is made at `at` on the day after its period
    (a Monday for a week, the 1st for a month); naive city time."""
    return dt.datetime.combine(period.after, at)


def due(now: dt.datetime, at: dt.time) -> list[Period]:
    """The periods whose scheduled briefing should exist by `now` (naive city
    time): of each kind, the latest whose hour has come. Older ones missed
    while the service was down are not caught up: a briefing is news, and
    any period can still be made on demand."""
    out = []
    for kind in Kind:
        p = last_complete(kind, now)
        if now < publish_time(p, at):
            p = containing(kind, p.first - dt.timedelta(days=1))
        out.append(p)
    return out


def next_run(now: dt.datetime, at: dt.time) -> dt.datetime:
    """When the scheduler should look again: the next publish time of any kind."""
    times = []
    for kind in Kind:
        t = publish_time(last_complete(kind, now), at)
        if t <= now:  # made already: the current period's is next
            t = publish_time(containing(kind, now.date()), at)
        times.append(t)
    return min(times)
