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


@dataclass(frozen=True, slots=True)
class History:
    arrivals: tuple[float, ...]  # calls per half hour, averaged over the days
    handle_s: float
    patience_s: float | None  # None: nobody gave up (Erlang C)
    days: int
    calls: int


def summarise(rows: Iterable[CallRow], queue: str, now: float, days: int, calendar: Calendar) -> History:
    """Callers of `queue` who joined in the `days` before now. Patience is
    estimated the way a censored exponential is: abandons over the total time
    every caller waited (an answered caller's wait is a lower bound of theirs)."""
    counts = [0] * SLOTS
    handle: list[float] = []
    waited = 0.0
    abandons = calls = 0
    since = now - days * 86400
    for r in rows:
        if r.queue != queue or r.callback_id is not None or not since <= r.joined_at < now:
            continue
        calls += 1
        local = calendar.local(dt.datetime.fromtimestamp(r.joined_at, dt.timezone.utc))
        counts[local.hour * 2 + local.minute // 30] += 1
        waited += r.hold_s or 0.0
        if r.abandoned:
            abandons += 1
        elif r.answered_at is not None and r.talk_s is not None:
            handle.append(r.talk_s + (r.wrapup_s or 0.0))
    return History(
        arrivals=tuple(c / days for c in counts),
        handle_s=sum(handle) / len(handle) if handle else DEFAULT_HANDLE_S,
        patience_s=waited / abandons if abandons else None,
        days=days,
        calls=calls,
    )


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
