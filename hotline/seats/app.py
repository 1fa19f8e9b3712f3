"""The seats' credentials in the app: after the ACD, whose floor says who
sits where; a seat's password is rotated when its agent leaves it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd import api as acd_api
from hotline.seats.api import CREDENTIALS
from hotline.seats.credentials import SeatCredentials
from hotline.web.keys import AMI, SETTINGS


async def seats_ctx(app: web.Application) -> AsyncIterator[None]:
    acd = app[acd_api.ACD]
    creds = SeatCredentials(app[SETTINGS], app[AMI])

    def holders() -> dict[str, str]:
        return {name: seat.agent for name, seat in acd.floor.seats.items()}

    creds.start(holders())
    acd.subscribe(lambda: creds.floor_changed(holders()))
    app[CREDENTIALS] = creds
    yield
    await creds.close()
