"""Log in and out; the session cookie identifies the caller of every route."""

from __future__ import annotations

import hmac

from aiohttp import web

from hotline import accounts
from hotline.errors import BadRequest, HotlineError
from hotline.web.auth import IDENTIFY, USER, Role, allow
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.web.pages import page

COOKIE = "hotline_session"


class LoginFailed(HotlineError):
    error_id = "login-failed"
    status = 401


async def identify(request: web.Request) -> accounts.Identity | None:
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        given = bearer[7:].strip().encode()
        settings = request.app[SETTINGS]
        expected = settings.metrics_token
        if expected and hmac.compare_digest(given, expected.encode()):
            return accounts.Identity(0, "metrics", "Prometheus", frozenset({Role.METRICS}))
        for channel, token in settings.gateway_tokens.items():
            if token and hmac.compare_digest(given, str(token).encode()):
                return accounts.Identity(0, f"gateway:{channel}", f"{channel} 网关", frozenset({Role.GATEWAY}))
        return None
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    async with request.app[SESSIONS]() as db:
        return await accounts.session_identity(db, token)


async def json_body(request: web.Request) -> dict:
    """Mutating requests carry JSON; a form post from another site cannot."""
    if request.content_type != "application/json":
        raise BadRequest("请求体必须是 JSON（Content-Type: application/json）")
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("请求体必须是 JSON 对象")
    return body


@allow(Role.PUBLIC)
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    async with request.app[SESSIONS]() as db, db.begin():
        who = await accounts.authenticate(db, username, password)
        if who is None:
            raise LoginFailed("用户名或密码错误")
        token = await accounts.open_session(db, who)
    resp = web.json_response({"username": who.username, "display_name": who.display_name,
                              "roles": sorted(r.value for r in who.roles)})
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=int(accounts.SESSION_TTL.total_seconds()),
                    path="/")
    return resp


@allow(Role.AGENT, Role.LEAD, Role.ADMIN, Role.DEPARTMENT)
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE, "")
    async with request.app[SESSIONS]() as db, db.begin():
        await accounts.close_session(db, token)
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


@allow(Role.AGENT, Role.LEAD, Role.ADMIN, Role.DEPARTMENT)
async def me(request: web.Request) -> web.Response:
    who = request[USER]
    return web.json_response({"username": who.username, "display_name": who.display_name,
                              "roles": sorted(r.value for r in who.roles)})


@allow(Role.PUBLIC)
async def login_page(request: web.Request) -> web.StreamResponse:
    return page("login.html")


def setup(app: web.Application) -> None:
    app[IDENTIFY] = identify
    app.router.add_get("/login", login_page)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
