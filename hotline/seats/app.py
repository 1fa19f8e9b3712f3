"""The seats' credentials and browser phones in the app: after the ACD,
whose floor says who sits where; a seat's password is rotated when its agent
leaves it, and a seat whose browser phone went away is paused."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd import api as acd_api
from hotline.seats import state as st
from hotline.seats.api import CREDENTIALS, WEBPHONES
from hotline.seats.credentials import SeatCredentials
from hotline.seats.webphone import PhoneGone, WebPhones
from hotline.tasks import TaskSet
from hotline.web.keys import AMI, SESSIONS, SETTINGS


async def seats_ctx(app: web.Application) -> AsyncIterator[None]:
    acd = app[acd_api.ACD]
    settings = app[SETTINGS]
    creds = SeatCredentials(settings, app[AMI], app[SESSIONS] if settings.seats_at_edge else None)

    def holders() -> dict[str, str]:
        return {name: seat.agent for name, seat in acd.floor.seats.items()}

    await creds.start(holders())
    edge = settings.edge
    phones = app[WEBPHONES] = WebPhones(
        settings.pbx.http_port,
        f"ws://{f'[{edge.host}]' if ':' in str(edge.host) else edge.host}:{edge.ws_port}/"
        if settings.seats_at_edge
        else "",
        # Seats' and leads' browser phones alike, so any node rings them.
        frozenset(settings.seats.names() + settings.seats.monitor_names()),
        # The node's address (the edge takes websockets from nodes only), unless Asterisk binds every one.
        "" if settings.pbx.sip_host in ("0.0.0.0", "::") else str(settings.pbx.sip_host),
    )
    phones.floor_changed(holders())
    sittings = [acd.floor.sittings]

    def sitters_changed() -> None:
        # Most floor changes are calls; only a login or logout moves sitters.
        if acd.floor.sittings == sittings[0]:
            return
        sittings[0] = acd.floor.sittings
        now = holders()
        creds.floor_changed(now)
        phones.floor_changed(now)

    acd.subscribe(sitters_changed, floor_only=True)
    app[CREDENTIALS] = creds
    tasks = TaskSet("webphones")

    def gone(e: PhoneGone) -> None:
        seat = acd.floor.seats.get(e.seat)
        # The controller whose relay it was pauses the seat (stored: every controller takes it over).
        if seat is not None and seat.agent == e.agent and not e.remote and not phones.connected(e.seat):
            tasks.spawn(acd.pause_system(e.seat, st.PHONE_LOST), f"webphone-gone-{e.seat}")

    phones.subscribe(gone)
    yield
    await phones.close()
    await tasks.close()
    await creds.close()
