"""Static pages; each page reads its data from the API with the user's cookie."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.keys import SETTINGS

STATIC = Path(__file__).resolve().parent / "static"


def page(name: str) -> web.FileResponse:
    resp = web.FileResponse(STATIC / name)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"
    )
    return resp


@allow(Role.PUBLIC)
async def index(request: web.Request) -> web.StreamResponse:
    """The status page; holds no data itself, it reads /api/health."""
    return page("index.html")


@allow(Role.PUBLIC)
async def banner_js(request: web.Request) -> web.StreamResponse:
    """What every page loads: the city's time zone (every time a person reads
    is the city's, whatever the browser's clock says) and the demo banner."""
    tz = json.dumps(request.app[SETTINGS].ivr.timezone)
    script = f"window.HOTLINE_TZ = {tz};\n" + (STATIC / "banner.js").read_text(encoding="utf-8")
    return web.Response(text=script, content_type="text/javascript", headers={"Cache-Control": "no-store"})


@allow(Role.PUBLIC)
async def favicon(request: web.Request) -> web.StreamResponse:
    """Every browser asks for it; a 404 on each page is noise in the log."""
    resp = web.FileResponse(STATIC / "favicon.svg", headers={"Content-Type": "image/svg+xml"})
    resp.headers["Cache-Control"] = "max-age=86400"
    return resp


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/banner.js", banner_js)
    app.router.add_get("/favicon.ico", favicon)
