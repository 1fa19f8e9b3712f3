"""A job run once a day at a city time (the retention run, the triage retrain)."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

from hotline.daily import daily

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


async def test_the_job_runs_once_the_city_time_comes_and_survives_a_failing_night() -> None:
    now = [dt.datetime(2026, 11, 25, 4, 9, 59, tzinfo=SHANGHAI)]
    runs: list[dt.datetime] = []

    async def job() -> None:
        runs.append(now[0])
        now[0] += dt.timedelta(days=1, seconds=-2)  # the next night, a second before its time
        if len(runs) == 1:
            raise RuntimeError("a bad night")

    def clock() -> dt.datetime:
        value = now[0]
        now[0] += dt.timedelta(seconds=1)  # each look at the clock, a second later
        return value.astimezone(dt.UTC)

    task = asyncio.ensure_future(daily("test job", "04:10", "Asia/Shanghai", clock, job))
    try:
        async with asyncio.timeout(10):
            while len(runs) < 2:
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert [r.strftime("%m-%d %H:%M") for r in runs] == ["11-25 04:10", "11-26 04:10"]
