"""The IVR's resources in the app: prompts, flows, notices and the FastAGI driver."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.ivr import api as ivr_api
from hotline.ivr.agi import IvrDriver
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.engine import DialplanFlows
from hotline.ivr.prompts import PromptStore
from hotline.ivr.service import FlowService
from hotline.web.keys import AMI, CLOCK, PROMPTS, SESSIONS, SETTINGS, WRITES

DIALPLAN = web.AppKey("ivr_dialplan", DialplanFlows)


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


async def ivr_dialplan_ctx(app: web.Application) -> AsyncIterator[None]:
    """The flows in the PBX's dialplan (ivr.engine): once AMI and the FastAGI
    key are there, since the dialplan hands calls back to FastAGI."""
    settings = app[SETTINGS]
    engine = app[DIALPLAN] = DialplanFlows(
        settings, app[ivr_api.FLOWS], app[ivr_api.ANNOUNCEMENTS], app[AMI], app[WRITES], app[CLOCK], settings.agi.key
    )
    await engine.start()
    yield
    await engine.close()
