"""Demo mode in the app: the simulated callers and agents, their ticket
work and the linked services, started after every feature they drive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd import api as acd_api
from hotline.carmove import api as carmove_api
from hotline.credentials import peer_secret
from hotline.demo import DemoDriver, DemoOptions
from hotline.demo_links import DemoLinks
from hotline.demo_work import DemoDesks
from hotline.tasks import TaskSet
from hotline.tickets import api as tickets_api
from hotline.triage import history
from hotline.triage.api import TRIAGE
from hotline.web.keys import AMI, SESSIONS, SETTINGS

DEMO = web.AppKey("demo", DemoOptions)
DEMO_DRIVER = web.AppKey("demo_driver", DemoDriver)
DEMO_LINKS = web.AppKey("demo_links", DemoLinks)


async def demo_ctx(app: web.Application) -> AsyncIterator[None]:
    opts = app[DEMO]
    driver = DemoDriver(
        app[SETTINGS],
        app[acd_api.ACD],
        app[AMI],
        app[SESSIONS],
        rate_per_minute=opts.rate_per_minute,
        agents=opts.agents,
    )
    app[DEMO_DRIVER] = driver
    desks = DemoDesks(
        app[tickets_api.STORE], lambda: {c.ticket for c in app[tickets_api.HANDOFF].calls() if c.ticket}, opts.agents
    )
    links = DemoLinks(
        app[SETTINGS],
        app[AMI],
        app[tickets_api.STORE],
        app[tickets_api.HANDOFF],
        app[tickets_api.CONTROLS],
        app[carmove_api.CARMOVE],
        await asyncio.to_thread(peer_secret, app[SETTINGS], "110"),
        desks,
    )
    app[DEMO_LINKS] = links
    await driver.start()
    desks.start()
    await links.start()
    tasks = TaskSet("demo")
    triage = app[TRIAGE]
    if app[SETTINGS].triage.enabled and not triage.current():
        # The desk's suggestions from the first minutes: learned from the seeded history.
        rows = [r for r, _ in await asyncio.to_thread(history.read)]
        tasks.spawn(triage.retrain("demo", rows, source="seeded"), name="demo-triage")
    yield
    await tasks.close()
    await links.close()
    await desks.close()
    await driver.close()
