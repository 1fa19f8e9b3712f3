"""The 110 link in the app: its service (after the ticket store and the
channels, whose outbox carries what goes to 110, signed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.channels.api import OUTBOX
from hotline.credentials import peer_secret
from hotline.police.api import POLICE
from hotline.police.service import PEER, PoliceLinkService
from hotline.tickets import api as tickets_api
from hotline.tickets.calls import HandedOn
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS


async def police_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    secret = await asyncio.to_thread(peer_secret, settings, PEER)
    svc = PoliceLinkService(settings, app[tickets_api.STORE], app[OUTBOX], app[SESSIONS], app[CLOCK], secret)
    hub = app[tickets_api.DESKS]
    svc.notify = hub.push
    app[POLICE] = svc

    async def handed_on(e: HandedOn) -> bool:
        # Sent to 110: the ticket follows as an incident (国办发〔2022〕12号).
        if not e.call.ticket or e.number != svc.cfg.number:
            return False
        await svc.push(e.call.ticket, e.action, e.who, e.note)
        return True

    app[tickets_api.CONTROLS].on_handed_on(handed_on)
    yield
