"""The State Council's public holidays and make-up working days (调休), as
the maintained `chinese-calendar` package knows them. It knows a year once
the State Council has published it (each November for the next year) and a
release of the package carries it; until then the admin is told, and local
dates (ivr.holidays, ivr.workdays) fill the gap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OfficialDays:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]  # weekend days worked to make up for a holiday
    last_year: int  # the last year the package knows; 0: none

    @classmethod
    def load(cls) -> OfficialDays:
        import chinese_calendar

        holidays = frozenset(chinese_calendar.holidays)
        return cls(holidays, frozenset(chinese_calendar.workdays), max((d.year for d in holidays), default=0))


NONE = OfficialDays(frozenset(), frozenset(), 0)


def coverage_warning(last_year: int, local: Iterable[dt.date], today: dt.date) -> str:
    """What the admin must do about years the calendar does not know: the
    current year always, the next one from November (when it is published),
    unless local dates for that year were entered."""
    years = {d.year for d in local}
    missing = [y for y in (today.year, today.year + 1) if y > last_year and y not in years]
    if today.month < 11:
        missing = [y for y in missing if y == today.year]
    if not missing:
        return ""
    return (
        f"法定节假日与调休数据缺 {'、'.join(str(y) for y in missing)} 年（国务院每年 11 月公布次年安排）："
        "请升级 chinese-calendar，或在配置 ivr.holidays / ivr.workdays 中填写"
    )
