"""Static pages; each page reads its data from the API with the user's cookie."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.keys import SETTINGS

STATIC = Path(__file__).resolve().parent / "static"
# Browser libraries installed by scripts/bootstrap from package-lock.json (npm ci).
VENDOR = Path(__file__).resolve().parents[2] / "node_modules"
# What a page may load from there: the library's own ES modules (lib/).
SIPJS = VENDOR / "sip.js"


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


@allow(Role.PUBLIC)
async def script(request: web.Request) -> web.StreamResponse:
    """The pages' own ES modules (static/*.js)."""
    path = STATIC / request.match_info["name"]
    resp = web.FileResponse(path, headers={"Content-Type": "text/javascript"})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@allow(Role.PUBLIC)
async def sipjs(request: web.Request) -> web.StreamResponse:
    """SIP.js, the browser phone's library, as its ES modules (never a CDN)."""
    path = (SIPJS / request.match_info["path"]).resolve()
    if not path.is_relative_to(SIPJS.resolve() / "lib") or path.suffix != ".js" or not path.is_file():
        if not SIPJS.is_dir():
            raise web.HTTPServiceUnavailable(text="网页电话组件未安装（scripts/bootstrap 会安装）")
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "text/javascript", "Cache-Control": "max-age=3600"})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/static/{name:[a-z]+\\.js}", script)
    app.router.add_get("/vendor/sip.js/{path:[A-Za-z0-9_./-]{1,200}}", sipjs)
    app.router.add_get("/banner.js", banner_js)
    app.router.add_get("/favicon.ico", favicon)
