"""The IVR's resources in the app: prompts, flows, notices and the FastAGI driver."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.ivr import api as ivr_api
from hotline.ivr.agi import IvrDriver
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.prompts import PromptStore
from hotline.ivr.service import FlowService
from hotline.web.keys import CLOCK, PROMPTS, SESSIONS, SETTINGS, WRITES


async def ivr_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    prompts = app[PROMPTS] = PromptStore(settings)
    flows = FlowService(settings, app[SESSIONS], prompts)
    announcements = AnnouncementService(app[SESSIONS], prompts)
    await flows.load()
    await announcements.load()
    app[ivr_api.FLOWS] = flows
    app[ivr_api.ANNOUNCEMENTS] = announcements
    app[ivr_api.DRIVER] = IvrDriver(settings, flows, announcements, app[SESSIONS], app[WRITES], clock=app[CLOCK])
    yield
