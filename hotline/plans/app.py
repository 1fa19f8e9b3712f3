"""Contingency plans in the app: after the ACD and the IVR, whose settings
a plan changes; the seat map shows the running one."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd.api import ACD, OFFER
from hotline.briefings.api import BRIEFINGS
from hotline.ivr.api import ANNOUNCEMENTS, FLOWS
from hotline.plans.api import PLANS
from hotline.plans.knobs import Knobs
from hotline.plans.service import PlanService
from hotline.seatmap.api import HUB
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS


async def plans_ctx(app: web.Application) -> AsyncIterator[None]:
    knobs = Knobs(app[ACD], app[FLOWS], app[ANNOUNCEMENTS], app[OFFER])
    svc = PlanService(app[SETTINGS], app[SESSIONS], app[CLOCK], app[ACD], knobs)
    app[PLANS] = svc
    svc.hot_topics = app[BRIEFINGS].hot_topics_now
    hub = app[HUB]
    svc.subscribe(lambda: hub.set_plan(svc.view(), svc.suggestions))
    await svc.start_service()
    hub.set_plan(svc.view(), svc.suggestions)
    yield
    await svc.close()
