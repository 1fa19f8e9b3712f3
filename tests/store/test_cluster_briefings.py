"""With several controllers on one PostgreSQL, the scheduled briefings are
made by the leader alone, each once, and a new leader finds them made."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.briefings.schedule import BriefingSchedule
from hotline.briefings.service import Briefings
from hotline.cluster.fence import Fence
from hotline.cluster.leader import Leadership
from hotline.config import Settings
from hotline.db.models import ClusterDecision
from hotline.reports.api import standards_from
from hotline.tickets.categories import CategoryTree
from tests.briefing_month import NOW
from tests.conftest import make_settings
from tests.integration.helpers import eventually

FAST = {"poll": 0.2, "heartbeat": 0.3}
KEYS = ["daily:2026-11-24", "monthly:2026-10-01", "weekly:2026-11-16"]


def schedule(settings: Settings, sessions: async_sessionmaker[AsyncSession], lead: Leadership) -> BriefingSchedule:
    async def standards(start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        return await standards_from(sessions, settings.acd.queue, start, end, [])

    briefings = Briefings(settings, sessions, lambda: NOW, CategoryTree(settings.tickets), standards)
    return BriefingSchedule(briefings, Fence(lead))


async def test_only_the_leader_makes_the_scheduled_briefings_each_once(
    url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = {
        node: make_settings(tmp_path / node, database={"url": url}, cluster={"node": node}) for node in ("a", "b")
    }
    a, b = Leadership(url, "a", **FAST), Leadership(url, "b", **FAST)
    await a.start()
    await eventually(lambda: a.leading, timeout=10)
    await b.start()
    try:
        on_a, on_b = schedule(settings["a"], sessions, a), schedule(settings["b"], sessions, b)
        assert await on_b.run_due() == []
        made = await on_a.run_due()
        assert sorted(str(m.scheduled_key) for m in made) == KEYS
        # The leader goes; the next one finds every briefing made: none twice.
        await a.close()
        await eventually(lambda: b.leading, timeout=10)
        again = await on_b.run_due()
        assert sorted(m.id for m in again) == sorted(m.id for m in made)
    finally:
        await a.close()
        await b.close()
    async with sessions() as s:
        rows = (await s.execute(select(ClusterDecision.kind, ClusterDecision.key, ClusterDecision.node))).all()
    assert sorted(rows) == [("briefing", k, "a") for k in KEYS]
