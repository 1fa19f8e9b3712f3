"""The roster in the app: its service (after the ACD, whose floor says who
is logged in), and adherence refreshed for the seat map."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd.api import ACD
from hotline.roster.api import ROSTER
from hotline.roster.service import RosterService, named
from hotline.seatmap.api import HUB
from hotline.tasks import TaskSet
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS

log = logging.getLogger(__name__)
EVERY_S = 10.0


async def roster_ctx(app: web.Application) -> AsyncIterator[None]:
    acd = app[ACD]
    svc = RosterService(
        app[SETTINGS],
        app[SESSIONS],
        app[CLOCK],
        lambda: {s.agent for s in acd.floor.seats.values() if s.agent},
        lambda: {s.agent: s.agent_name for s in acd.floor.seats.values() if s.agent},
        acd.drain,
    )
    app[ROSTER] = svc
    hub = app[HUB]
    tasks = TaskSet("roster")

    async def refresh() -> None:
        while True:
            try:
                hub.set_adherence(named((await svc.adherence()).as_dict(), svc.namer()))
            except Exception:
                log.exception("roster: adherence not refreshed")
            await asyncio.sleep(EVERY_S)

    tasks.spawn(refresh(), name="roster-adherence")
    yield
    await tasks.close()
