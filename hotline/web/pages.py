"""Static pages; each page reads its data from the API with the user's cookie."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from hotline.roles import Role
from hotline.web.auth import allow

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
    """The demo banner every page loads (an empty script outside demo mode)."""
    resp = web.FileResponse(STATIC / "banner.js")
    resp.headers["Cache-Control"] = "no-store"
    return resp
