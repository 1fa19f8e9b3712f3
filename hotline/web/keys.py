"""Typed application keys shared by the app factory and the route modules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession, FastAGIServer
from hotline.ami.resync import MirrorKeeper
from hotline.config import Settings
from hotline.db.batch import WriteQueue
from hotline.ivr.prompts import PromptStore

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker)
CLOCK = web.AppKey("clock", Callable[[], dt.datetime])
# What calls leave behind (the IVR's call row, the ACD's queue rows and
# audit), committed in shared batches (hotline/db/batch.py).
WRITES = web.AppKey("writes", WriteQueue)
AMI = web.AppKey("ami", AMIClient)
KEEPER = web.AppKey("keeper", MirrorKeeper)
# One prompt store: the IVR's, the callbacks' and the tickets' fixed prompts.
PROMPTS = web.AppKey("prompts", PromptStore)
# FastAGI routes by name, each added by the feature that owns it before the
# FastAGI server starts (the dialplan names the route: agi://…/carmove).
AGI_ROUTES = web.AppKey("agi_routes", dict[str, Callable[[AGISession], Awaitable[None]]])
# The FastAGI server (started last, once every route is in).
FASTAGI = web.AppKey("fastagi", FastAGIServer)
