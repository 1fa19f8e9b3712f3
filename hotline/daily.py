"""A job run once a day at a wall-clock time of the city (retention, the
triage model's retraining)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def daily(
    name: str, at: str, timezone: str, clock: Callable[[], dt.datetime], job: Callable[[], Awaitable[object]]
) -> None:
    tz = zoneinfo.ZoneInfo(timezone)
    when = dt.time.fromisoformat(at)
    while True:
        now = clock().astimezone(tz)
        nxt = dt.datetime.combine(now.date(), when, tzinfo=tz)
        if nxt <= now:
            nxt += dt.timedelta(days=1)
        # Looked at hourly at least: the clock may be changed.
        await asyncio.sleep(min(max((nxt - now).total_seconds(), 1.0), 3600.0))
        if clock().astimezone(tz) < nxt:
            continue
        try:
            await job()
        except Exception:  # a bad night must not stop tomorrow's run
            log.exception("%s failed; tomorrow's runs again", name)
