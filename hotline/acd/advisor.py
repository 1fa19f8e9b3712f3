"""The staffing advisor: the last weeks' calls per half hour, their handle
time and the callers' patience, turned into the lines each half hour needs
(acd/staffing.py) beside the lines the configuration staffs (acd.windows).
Pure: fed queue calls and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hotline.acd import lines as ln
from hotline.acd.staffing import Load, lines_needed, predict
from hotline.config import AcdSettings
from hotline.ivr.schedule import Calendar

SLOTS = 48  # half hours in a day
DEFAULT_HANDLE_S = 240.0  # before any call was answered


class CallRow(Protocol):
    queue: str
    joined_at: float
    answered_at: float | None
    abandoned: bool
    hold_s: float | None
    talk_s: float | None
    wrapup_s: float | None
    callback_id: int | None


# Less history than this is no ground for advice: the page says so, with
# what there is.
MIN_DAYS = 7.0
MIN_CALLS = 100


@dataclass(frozen=True, slots=True)
class History:
    arrivals: tuple[float, ...]  # calls per half hour, averaged over the days that half hour was recorded
    handle_s: float
    patience_s: float | None  # None: nobody gave up (Erlang C)
    days: int  # the window asked for
    calls: int
    first_at: float | None = None  # the oldest call in the window (epoch s)
    span_days: float = 0.0  # from the oldest call to now: what the averages rest on

    @property
    def enough(self) -> bool:
        return self.span_days >= MIN_DAYS and self.calls >= MIN_CALLS

    def basis(self, calendar: Calendar) -> str:
        """What the advice rests on, in words for the shift lead."""
        if self.first_at is None:
            return f"近 {self.days} 天没有来电记录，无法给出排班建议。"
        since = calendar.local(dt.datetime.fromtimestamp(self.first_at, dt.timezone.utc)).strftime("%m月%d日 %H:%M")
        span = f"{self.span_days:.1f} 天" if self.span_days >= 1 else f"{self.span_days * 24:.1f} 小时"
        said = f"依据自 {since} 起 {span}的 {self.calls} 通来电"
        if self.enough:
            return said + "。"
        return said + f"：记录太少（至少需要 {MIN_DAYS:g} 天、{MIN_CALLS} 通来电），下表只是参考，不能作为排班依据。"


def summarise(rows: Iterable[CallRow], queue: str, now: float, days: int, calendar: Calendar) -> History:
    """Callers of `queue` who joined in the `days` before now. Each half
    hour is averaged over the days it was recorded (since the oldest call),
    not over the whole window. Patience is estimated the way a censored
    exponential is: abandons over the total time every caller waited (an
    answered caller's wait is a lower bound of theirs)."""
    counts = [0] * SLOTS
    handle: list[float] = []
    waited = 0.0
    abandons = calls = 0
    first: float | None = None
    since = now - days * 86400
    for r in rows:
        if r.queue != queue or r.callback_id is not None or not since <= r.joined_at < now:
            continue
        calls += 1
        first = r.joined_at if first is None else min(first, r.joined_at)
        local = calendar.local(dt.datetime.fromtimestamp(r.joined_at, dt.timezone.utc))
        counts[local.hour * 2 + local.minute // 30] += 1
        waited += r.hold_s or 0.0
        if r.abandoned:
            abandons += 1
        elif r.answered_at is not None and r.talk_s is not None:
            handle.append(r.talk_s + (r.wrapup_s or 0.0))
    seen = _occurrences(first, now, calendar) if first is not None else [0] * SLOTS
    return History(
        arrivals=tuple(c / n if n else 0.0 for c, n in zip(counts, seen)),
        handle_s=sum(handle) / len(handle) if handle else DEFAULT_HANDLE_S,
        patience_s=waited / abandons if abandons else None,
        days=days,
        calls=calls,
        first_at=first,
        span_days=(now - first) / 86400 if first is not None else 0.0,
    )


def _occurrences(first: float, now: float, calendar: Calendar) -> list[int]:
    """How many times each half hour of the day began (or was under way) between the oldest call and now."""
    start = calendar.local(dt.datetime.fromtimestamp(first, dt.timezone.utc))
    start = start.replace(minute=30 * (start.minute // 30), second=0, microsecond=0)
    end = calendar.local(dt.datetime.fromtimestamp(now, dt.timezone.utc))
    seen = [0] * SLOTS
    day = start.date()
    while day <= end.date():
        for slot in range(SLOTS):
            at = dt.datetime.combine(day, dt.time(slot // 2, 30 * (slot % 2)), tzinfo=calendar.tz)
            if start <= at <= end:
                seen[slot] += 1
        day += dt.timedelta(days=1)
    return seen


def advise(
    history: History,
    acd: AcdSettings,
    calendar: Calendar,
    day: dt.date,
    k: float = 1.0,
    service_level: float = 0.8,
    within_s: float = 15.0,
    connection: float = 0.95,
) -> list[dict[str, Any]]:
    """Per half hour of `day`: the arrivals (× k), the lines the configuration
    staffs then, the lines the model needs, and what each would give."""
    out = []
    for slot in range(SLOTS):
        start = dt.datetime.combine(day, dt.time(slot // 2, 30 * (slot % 2)), tzinfo=calendar.tz)
        window, configured = ln.window(acd, calendar, start)
        load = Load(history.arrivals[slot] * 2 * k, history.handle_s, history.patience_s)
        need = lines_needed(load, service_level, within_s, connection)
        have = predict(load, configured, within_s)
        out.append(
            {
                "start": start.strftime("%H:%M"),
                "window": window,
                "arrivals": round(load.arrivals_per_hour / 2, 2),
                "erlangs": round(load.erlangs, 2),
                "configured": configured,
                "recommended": need.lines,
                "with_configured": have.as_dict(),
                "with_recommended": need.as_dict(),
            }
        )
    return out
