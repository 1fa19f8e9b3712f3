"""Same-origin rules: who may change things and open websockets.

Browsers attach the session cookie to requests other sites make. The cookie
is SameSite=Strict, but a page on another port of the same host is
"same-site" and gets it anyway, so:

* a change (POST/PUT/PATCH/DELETE) made with the cookie must declare
  `Content-Type: application/json` (a cross-site form cannot; a `fetch` that
  does is preflighted and refused), and when the browser names its Origin it
  must be ours;
* a websocket must name its Origin and it must be ours (browsers send it on
  every websocket handshake; websockets are not covered by CORS at all);
* pages may not be framed (clickjacking).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web

from hotline.errors import HotlineError
from hotline.web.auth import USER, Handler
from hotline.web.keys import SETTINGS

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Websockets:
    """The live pages' websockets, each with the login session and person it
    belongs to: counted per session and per person, closed when their session
    ends (logout, expiry, a password change, the account disabled) and when
    the controller stops. Left open at a stop, each kept it waiting for
    aiohttp's shutdown timeout (half a minute with a seat map open)."""

    def __init__(self) -> None:
        self.live: dict[web.WebSocketResponse, tuple[str, int]] = {}  # ws -> (session key, user id)

    def count(self, session: str = "", user: int | None = None) -> int:
        return sum(1 for s, u in self.live.values() if s == session or u == user)

    def sessions(self) -> set[str]:
        return {s for s, _ in self.live.values()}

    async def close_sessions(self, keys: set[str]) -> int:
        """Close the sockets of these login sessions: they ended."""
        doomed = [ws for ws, (s, _) in self.live.items() if s in keys]
        # 4001: the pages send the person to the login page instead of reconnecting.
        await asyncio.gather(
            *(ws.close(code=SESSION_ENDED, message="登录已结束".encode()) for ws in doomed), return_exceptions=True
        )
        return len(doomed)

    async def close_all(self, app: web.Application) -> None:
        # 1001 Going Away: the pages reconnect by themselves once it is back.
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message="服务重启".encode()) for ws in list(self.live)),
            return_exceptions=True,
        )


SESSION_ENDED = 4001

WEBSOCKETS = web.AppKey("websockets", Websockets)


class CrossOrigin(HotlineError):
    error_id = "cross-origin"
    status = 403


class JsonRequired(HotlineError):
    error_id = "json-required"
    status = 400


class TooManyWebsockets(HotlineError):
    error_id = "too-many-websockets"
    status = 429


def own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def origin_allowed(request: web.Request, origin: str) -> bool:
    return origin == own_origin(request) or origin in request.app[SETTINGS].web.allowed_origins


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE and not request.headers.get("Authorization", "").startswith("Bearer "):
        origin = request.headers.get("Origin")
        if request.content_type == "multipart/form-data" and getattr(request.match_info.handler, "uploads", False):
            # A file upload (a photo): another site's form can post multipart,
            # so it must come from one of our pages, Origin and all.
            if origin is None or not origin_allowed(request, origin):
                raise CrossOrigin("上传必须来自本站页面", origin=origin or "")
            return await handler(request)
        if request.content_type != "application/json":
            raise JsonRequired("修改请求必须是 JSON（Content-Type: application/json）")
        if origin is not None and not origin_allowed(request, origin):
            raise CrossOrigin("请求来自其他网站，已拒绝", origin=origin)
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors and websocket handshakes included."""
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")


@contextlib.asynccontextmanager
async def websocket(
    request: web.Request, cookie: str, protocols: tuple[str, ...] = ()
) -> AsyncIterator[web.WebSocketResponse]:
    """A websocket from one of our own pages, at most N per login session."""
    origin = request.headers.get("Origin", "")
    if not origin or not origin_allowed(request, origin):
        raise CrossOrigin("websocket 必须来自本站页面", origin=origin)
    key = hashlib.sha256(request.cookies.get(cookie, "").encode()).hexdigest()
    user = getattr(request.get(USER), "user_id", 0)
    sockets = request.app[WEBSOCKETS]
    web_cfg = request.app[SETTINGS].web
    if sockets.count(session=key) >= web_cfg.max_websockets_per_session:
        raise TooManyWebsockets("此登录打开的实时连接过多，请关闭其他窗口")
    if sockets.count(user=user) >= web_cfg.max_websockets_per_user:
        raise TooManyWebsockets("您的账号打开的实时连接过多，请关闭其他窗口或设备上的页面")
    ws = web.WebSocketResponse(heartbeat=20, protocols=protocols)
    sockets.live[ws] = (key, user)
    try:
        await ws.prepare(request)
        yield ws
    finally:
        sockets.live.pop(ws, None)
