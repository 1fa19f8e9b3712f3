"""Car moving in the app: after the tickets and the channels (it uses the
desk's calls and the outbox) and the ACD; it names its own FastAGI route."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.carmove.api import CARMOVE, REGISTERING, REGISTRY, VERIFYING
from hotline.carmove.registry import VehicleRegistry
from hotline.carmove.service import PROMPTS, CarMoveService
from hotline.channels.api import DELIVERER, OUTBOX
from hotline.web.keys import AGI_ROUTES, AMI, CLOCK, SESSIONS, SETTINGS
from hotline.web.keys import PROMPTS as PROMPT_STORE
from hotline.web.throttle import RateLimit


async def carmove_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    prompts = app[PROMPT_STORE]
    if settings.carmove.pool:
        for name, text in PROMPTS.items():
            await prompts.fixed(name, text)
    svc = CarMoveService(settings, app[SESSIONS], app[AMI], prompts, app[CLOCK])
    app[CARMOVE] = svc
    app[REGISTRY] = VehicleRegistry(settings, app[SESSIONS], app[OUTBOX], app[CLOCK], app[DELIVERER].kick)
    app[AGI_ROUTES]["carmove"] = svc.route  # a call to a pool number X
    app[REGISTERING] = RateLimit(settings.carmove.registrations_per_address_hour)
    app[VERIFYING] = RateLimit(settings.carmove.registrations_per_address_hour * 10)
    yield
    await svc.close()
