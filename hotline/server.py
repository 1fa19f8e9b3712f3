"""App factory: one cleanup context per resource (AMI, FastAGI, ...).

Later parts (IVR, ACD, seat map, tickets) plug their routes and resources in
here; nothing starts a resource outside a cleanup context.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from collections.abc import AsyncIterator

from aiohttp import web

from hotline import __version__
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession, FastAGIServer
from hotline.ami.resync import MirrorKeeper
from hotline.config import Settings
from hotline.web.auth import Role, allow, auth_middleware, error_middleware

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
AMI = web.AppKey("ami", AMIClient)
KEEPER = web.AppKey("keeper", MirrorKeeper)
FASTAGI = web.AppKey("fastagi", FastAGIServer)
STARTED = web.AppKey("started", float)


async def ami_ctx(app: web.Application) -> AsyncIterator[None]:
    client = AMIClient(app[SETTINGS].ami)
    app[AMI] = client
    app[KEEPER] = MirrorKeeper(client)
    await client.start()
    yield
    await client.close()


async def ivr_placeholder(session: AGISession) -> None:
    """Until a flow is published the IVR hands every caller to a seat.

    Ending the AGI without HOTLINE_ROUTE sends the call down the static route
    (queue 'hotline'); the IVR issue replaces this with the flow interpreter.
    """
    await session.command('VERBOSE "hotline: no IVR flow, to the queue" 3')


async def fastagi_ctx(app: web.Application) -> AsyncIterator[None]:
    server = FastAGIServer(app[SETTINGS].agi)
    server.route("ivr", ivr_placeholder)
    app[FASTAGI] = server
    await server.start()
    yield
    await server.close()


@allow(Role.PUBLIC)
async def health(request: web.Request) -> web.Response:
    """Liveness for monitoring: public, and holds nothing a caller could misuse."""
    app = request.app
    client = app[AMI]
    keeper = app[KEEPER]
    body = {
        "status": "ok" if client.connected and keeper.mirror.synced else "degraded",
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
        "fastagi": {"active_sessions": app[FASTAGI].active_sessions},
    }
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


STATIC = Path(__file__).resolve().parent / "web" / "static"


@allow(Role.PUBLIC)
async def index(request: web.Request) -> web.FileResponse:
    """The status page; holds no data itself, it reads /api/health."""
    return web.FileResponse(STATIC / "index.html")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth_middleware])
    app[SETTINGS] = settings
    app[STARTED] = time.monotonic()
    app.cleanup_ctx.append(ami_ctx)
    app.cleanup_ctx.append(fastagi_ctx)
    app.router.add_get("/", index)
    app.router.add_get("/api/health", health)
    return app


def serve(settings: Settings) -> None:
    app = create_app(settings)
    url = f"http://{settings.web.host}:{settings.web.port}/"
    print(f"hotline: serving on {url}", flush=True)
    web.run_app(app, host=settings.web.host, port=settings.web.port, print=None)
