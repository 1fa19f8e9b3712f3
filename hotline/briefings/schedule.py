"""The schedule that makes the daily, weekly and monthly briefings by
themselves. With several controllers only the leader makes them, and each
scheduled briefing is a cluster-wide decision made once (cluster/fence.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import zoneinfo

from hotline.briefings.periods import due, next_run
from hotline.briefings.service import Briefings
from hotline.cluster.decisions import AlreadyDecided, NotLeader
from hotline.cluster.fence import Fence
from hotline.db.models import Briefing
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)


class BriefingSchedule:
    def __init__(self, briefings: Briefings, fence: Fence):
        self.briefings = briefings
        self.fence = fence
        self.cfg = briefings.cfg
        self.tz = zoneinfo.ZoneInfo(briefings.settings.ivr.timezone)
        self._tasks = TaskSet("briefing-schedule")
        self.checks = 0  # passes of the schedule: each made whatever was due

    def start(self) -> None:
        if self.cfg.schedule:
            self._tasks.spawn(self._schedule(), name="briefing-schedule")

    async def close(self) -> None:
        await self._tasks.close(grace=0.0)

    async def run_due(self) -> list[Briefing]:
        """Make the scheduled briefings that are due and not yet made; on a
        controller that does not lead, none."""
        at = dt.time.fromisoformat(self.cfg.at)
        made = []
        for p in due(self.briefings.clock().astimezone(self.tz).replace(tzinfo=None), at):
            if not self.fence.leading:
                break
            decision = functools.partial(self.fence.decide, kind="briefing", key=p.key)
            try:
                made.append(await self.briefings.make(p, scheduled=True, before_commit=decision))
            except AlreadyDecided:
                continue  # made by another leader meanwhile
            except NotLeader as exc:
                log.warning("%s", exc)
                break
        return made

    async def _schedule(self) -> None:
        at = dt.time.fromisoformat(self.cfg.at)
        while True:
            try:
                await self.run_due()
            except Exception:  # a bad night must not stop tomorrow's briefing
                log.exception("scheduled briefing failed; trying again within the hour")
            self.checks += 1
            now = self.briefings.clock().astimezone(self.tz)
            wait = (next_run(now.replace(tzinfo=None), at) - now.replace(tzinfo=None)).total_seconds()
            # Looked at hourly at least: the clock may be changed, a failure retried.
            # A follower looks every minute, so a new leader makes what is due soon.
            ceiling = 3600.0 if self.fence.leading else 60.0
            await asyncio.sleep(min(max(wait, 1.0), ceiling))
