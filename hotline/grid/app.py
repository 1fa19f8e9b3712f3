"""Grid stations in the app: the photo store workers and units upload to
(after the ticket store, whose tickets the photos belong to)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.grid.api import PHOTOS
from hotline.grid.photos import PhotoStore
from hotline.web.keys import CLOCK, SESSIONS, SETTINGS


async def grid_ctx(app: web.Application) -> AsyncIterator[None]:
    app[PHOTOS] = PhotoStore(app[SETTINGS], app[SESSIONS], app[CLOCK])
    yield
