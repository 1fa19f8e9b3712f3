"""Log in and out; the session cookie identifies the caller of every route."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web
from sqlalchemy import update

from hotline import accounts
from hotline import sessions as web_sessions
from hotline.accounts import FIRST_ADMIN_FILE
from hotline.config import GATEWAY_CHANNELS
from hotline.credentials import ensure_secrets
from hotline.db.models import User, utcnow
from hotline.errors import HotlineError
from hotline.roles import PEOPLE, Role
from hotline.tasks import TaskSet
from hotline.web.auth import IDENTIFY, USER, allow
from hotline.web.clients import client_address
from hotline.web.json import json_body, text_field
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.web.origin import WEBSOCKETS
from hotline.web.pages import page
from hotline.web.throttle import LoginThrottle

COOKIE = "hotline_session"
log = logging.getLogger(__name__)


class LoginFailed(HotlineError):
    error_id = "login-failed"
    status = 401


class TooManyAttempts(HotlineError):
    error_id = "login-throttled"
    status = 429


@dataclass(frozen=True)
class Bearers:
    """Tokens of the machines that call in (Prometheus, channel gateways),
    read once at start-up: a request never reads the secrets file."""

    metrics: bytes
    gateways: tuple[tuple[str, bytes], ...]


BEARERS = web.AppKey("bearers", Bearers)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)


async def identify(request: web.Request) -> accounts.Identity | None:
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        given = bearer[7:].strip().encode("utf-8", "replace")
        tokens = request.app[BEARERS]
        if tokens.metrics and hmac.compare_digest(given, tokens.metrics):
            return accounts.Identity(0, "metrics", "Prometheus", frozenset({Role.METRICS}))
        for channel, token in tokens.gateways:
            if token and hmac.compare_digest(given, token):
                return accounts.Identity(0, f"gateway:{channel}", f"{channel} 网关", frozenset({Role.GATEWAY}))
        return None
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    sessions = request.app[SESSIONS]
    async with sessions() as db:
        found = await web_sessions.session_identity(db, token)
    if found is None:
        return None
    idle = _idle(request.app)
    if web_sessions.extended_expiry(found.created_at, found.expires_at, utcnow(), idle) is not None:
        # Activity pushes the idle timeout on (at most one write a minute).
        async with sessions() as db, db.begin():
            await web_sessions.touch_session(db, token, idle)
    return found.who


def _idle(app: web.Application) -> dt.timedelta:
    return dt.timedelta(minutes=app[SETTINGS].web.session_idle_minutes)


@allow(Role.PUBLIC)
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = text_field(body, "username", max_len=64)
    password = text_field(body, "password", max_len=256)
    app = request.app
    throttle = app[THROTTLE]
    address = client_address(request)
    wait = throttle.admit(address, username, time.monotonic())
    if wait is not None:
        raise TooManyAttempts("登录尝试过于频繁，请稍后再试", retry_after=int(wait + 0.999))
    ok = False
    try:
        # Read the account, then verify with no session or transaction open:
        # a slow argon2 never holds the database's writer lock or a pooled
        # connection that calls and tickets need.
        async with app[SESSIONS]() as db:
            candidate = await accounts.find_login(db, username)
        who = await accounts.verify_password(candidate, password)
        ok = who is not None
    finally:
        throttle.done(address, username, ok, time.monotonic())
    if who is None:
        raise LoginFailed("用户名或密码错误")
    async with app[SESSIONS]() as db, db.begin():
        await web_sessions.purge_expired_sessions(db)
        token = await web_sessions.open_session(db, who, _idle(app))
        await db.execute(update(User).where(User.id == who.user_id).values(last_login_at=utcnow()))
    resp = web.json_response(
        {
            "username": who.username,
            "display_name": who.display_name,
            "roles": sorted(r.value for r in who.roles),
            "must_change_password": who.must_change_password,
            "next": safe_next(app, body.get("next")),
        }
    )
    # A session cookie (no max_age): it ends with the browser, and the server
    # ends it after the idle timeout or SESSION_TTL, whichever comes first.
    # Over HTTPS (web.tls) the cookie never travels in the clear.
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/", secure=request.secure)
    return resp


def safe_next(app: web.Application, raw: object) -> str:
    """Where the login page may send someone: one of this site's own pages,
    decided here from the router's page routes, never by how a browser
    would read the text (/.//evil.example/ became //evil.example/ there)."""
    if type(raw) is not str or not raw.startswith("/") or len(raw) > 512:
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or "\\" in raw:
        return "/"
    for resource in app.router.resources():
        if not any(r.method == "GET" and getattr(r.handler, "is_page", False) for r in resource):
            continue
        info = resource.get_info()
        exact = info.get("path") == parts.path
        if exact or ("pattern" in info and info["pattern"].fullmatch(parts.path)):
            return parts.path + (f"?{quote(parts.query, safe='=&%+')}" if parts.query else "")
    return "/"


@allow(*PEOPLE, before_password_change=True)
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE, "")
    async with request.app[SESSIONS]() as db, db.begin():
        await web_sessions.close_session(db, token)
    # The session's live pages stop now, not when their sockets next fail.
    await request.app[WEBSOCKETS].close_sessions({web_sessions.session_key(token)})
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


@allow(*PEOPLE, before_password_change=True)
async def me(request: web.Request) -> web.Response:
    who = request[USER]
    return web.json_response(
        {
            "username": who.username,
            "display_name": who.display_name,
            "roles": sorted(r.value for r in who.roles),
            "department": who.department,
            "must_change_password": who.must_change_password,
        }
    )


@allow(*PEOPLE, before_password_change=True)
async def change_password(request: web.Request) -> web.Response:
    body = await json_body(request)
    current = text_field(body, "current_password", max_len=256)
    new = text_field(body, "new_password", max_len=256)
    ended = await accounts.change_password(
        request.app[SESSIONS], request[USER], current, new, keep_token=request.cookies.get(COOKIE, "")
    )
    await request.app[WEBSOCKETS].close_sessions(ended)
    # The first admin's one-time password was kept only for this moment.
    settings = request.app[SETTINGS]
    with contextlib.suppress(FileNotFoundError):
        first = settings.state_dir / FIRST_ADMIN_FILE
        if first.read_text(encoding="utf-8").splitlines()[0].strip() == f"username: {request[USER].username}":
            first.unlink()
    return web.json_response({"ok": True})


@allow(Role.PUBLIC)
async def login_page(request: web.Request) -> web.StreamResponse:
    return page("login.html")


async def load_bearers(app: web.Application) -> None:
    secrets = await asyncio.to_thread(ensure_secrets, app[SETTINGS])
    app[BEARERS] = Bearers(
        metrics=str(secrets.get("metrics_token", "")).encode(),
        gateways=tuple(
            (channel, str(token).encode())
            for channel, token in secrets.get("gateway_tokens", {}).items()
            if channel in GATEWAY_CHANNELS
        ),
    )


SWEEP_SECONDS = 10.0


async def session_sweeper(app: web.Application) -> AsyncIterator[None]:
    """Live pages of sessions that ended without a request (idle expiry, an
    account disabled, a session removed elsewhere) are closed within
    SWEEP_SECONDS: a socket never outlives its login."""

    async def sweep() -> None:
        sockets = app[WEBSOCKETS]
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            keys = sockets.sessions()
            if not keys:
                continue
            async with app[SESSIONS]() as db:
                live = await web_sessions.live_sessions(db, keys)
            if ended := keys - live:
                closed = await sockets.close_sessions(ended)
                log.info("closed %d live page(s) of %d ended login(s)", closed, len(ended))

    tasks = TaskSet("session-sweeper")
    tasks.spawn(sweep(), "session-sweeper")
    yield
    await tasks.close()


def setup(app: web.Application) -> None:
    app[IDENTIFY] = identify
    app.cleanup_ctx.append(session_sweeper)
    app[THROTTLE] = LoginThrottle()
    app.on_startup.append(load_bearers)
    app.router.add_get("/login", login_page)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_post("/api/me/password", change_password)
