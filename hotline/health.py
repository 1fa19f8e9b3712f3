"""/api/health: what monitoring reads (public: it holds nothing a caller could misuse)."""

from __future__ import annotations

import time

from aiohttp import web

from hotline import __version__
from hotline.acd import api as acd_api
from hotline.cluster.app import FENCE
from hotline.demo_app import DEMO
from hotline.ivr import api as ivr_api
from hotline.pbx.app import PBX_WATCH, TRUNKS
from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.keys import AMI, CLOCK, FASTAGI, KEEPER

STARTED = web.AppKey("started", float)


@allow(Role.PUBLIC)
async def health(request: web.Request) -> web.Response:
    """Liveness for monitoring: public, and holds nothing a caller could misuse."""
    app = request.app
    client = app[AMI]
    keeper = app[KEEPER]
    flow = app[ivr_api.FLOWS].current()
    trunks = app[TRUNKS]
    pbx = app[PBX_WATCH].view()
    warnings = []
    if pbx["files"] and pbx["files"]["near_limit"]:
        warnings.append(
            f"电话系统已打开 {pbx['files']['open']} 个文件，接近上限 {pbx['files']['limit']}：新来电可能失败"
        )
    # The admin is told when the State Council's holidays for a year are not known yet.
    calendar_gap = app[acd_api.ACD].calendar.coverage_warning(app[CLOCK]())
    if calendar_gap:
        warnings.append(calendar_gap)
    body = {
        "status": "ok" if client.connected and keeper.mirror.synced and not trunks.cut_off else "degraded",
        "version": __version__,
        "uptime_s": round(time.monotonic() - app[STARTED], 1),
        "ami": {
            "connected": client.connected,
            "connections": client.connections,
            "last_error": client.last_error or None,
            "synced": keeper.mirror.synced,
            "resyncs": keeper.resyncs,
        },
        "asterisk_version": keeper.asterisk_version or None,
        "pbx": pbx,
        "warnings": warnings,
        "trunks": trunks.view(),
        # Simulated callers and agents: every page says so.
        "demo": DEMO in app,
        # Refused: sessions without the dialplan's key or a live channel.
        "fastagi": {"active_sessions": app[FASTAGI].active_sessions, "refused": app[FASTAGI].sessions_refused},
        "ivr": {"flow_version": flow.version if flow else None},
        # With several controllers: this one's node, and whether it leads.
        "cluster": cluster.as_dict() if (cluster := app[FENCE].view()) else None,
    }
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)
