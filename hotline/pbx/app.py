"""The PBX-facing resources beside the AMI connection: the SIP guard, and the
PBX, trunk and guard figures on /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hotline.metrics import METRICS
from hotline.pbx import api as pbx_api
from hotline.pbx.guard_view import guard_metrics
from hotline.pbx.health import PbxWatch, metrics_updater
from hotline.pbx.sipguard import SipGuard
from hotline.pbx.trunks import TrunkWatch, trunk_metrics
from hotline.web.keys import AMI, SESSIONS, SETTINGS

PBX_WATCH = web.AppKey("pbx_watch", PbxWatch)
TRUNKS = web.AppKey("trunks", TrunkWatch)


async def pbx_ctx(app: web.Application) -> AsyncIterator[None]:
    guard = SipGuard(app[SETTINGS], app[AMI], app[SESSIONS])
    app[pbx_api.GUARD] = guard
    registry = app[METRICS].registry
    app[METRICS].add_updater(metrics_updater(registry, app[PBX_WATCH]))
    app[METRICS].add_updater(trunk_metrics(registry, app[TRUNKS]))
    app[METRICS].add_updater(guard_metrics(registry, guard))
    await guard.start()
    app[PBX_WATCH].start()
    yield
    await app[PBX_WATCH].close()
    await guard.close()
