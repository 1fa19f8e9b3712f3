"""The citizens' channels in the app: the outbox (a message for every
ticket change that concerns a citizen, written in the change's own
transaction) and its delivery to the gateways and to 110. Right after the
ticket store: car moving and the 110 link write into the outbox too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.channels.api import DELIVERER, OUTBOX
from hotline.channels.delivery import Deliverer
from hotline.channels.outbox import QUEUED, Outbox
from hotline.cluster.app import FENCE
from hotline.config import PEERS
from hotline.credentials import outbox_tokens, peer_secret
from hotline.tickets import api as tickets_api
from hotline.tickets.moves import TicketMove
from hotline.web.keys import SESSIONS, SETTINGS


async def channels_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = app[tickets_api.STORE]
    outbox = Outbox(settings)
    tokens = await asyncio.to_thread(outbox_tokens, settings)
    peers = {p: await asyncio.to_thread(peer_secret, settings, p) for p in PEERS}
    fence = app[FENCE]
    deliverer = Deliverer(settings, app[SESSIONS], tokens, peers, leading=lambda: fence.leading)
    # A new leader sends at once what waited while nobody led.
    fence.on_lead(deliverer.kick)

    async def on_move(m: TicketMove) -> None:
        await outbox.on_move(m.db, m.ticket, m.action, m.note, m.department_name, m.at)

    store.moves.on_move(on_move)
    # A message goes out once its transaction committed, not at the next round.
    store.moves.on_commit(lambda info: deliverer.kick() if info.get(QUEUED) else None)
    app[OUTBOX] = outbox
    app[DELIVERER] = deliverer
    deliverer.start()
    yield
    await deliverer.close()
