"""Every route declares who may call it; undeclared routes are refused.

Failing closed keeps a forgotten decorator from exposing a page: the
middleware answers 500 'route-without-role' instead of serving it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hotline.db.outage import database_unavailable
from hotline.errors import HotlineError
from hotline.identity import Identity
from hotline.roles import Role

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IDENTIFY = web.AppKey("identify", Callable[[web.Request], Awaitable[Any]])
USER = web.RequestKey("user", Identity)


class Unauthenticated(HotlineError):
    error_id = "auth-required"
    status = 401


class Forbidden(HotlineError):
    error_id = "forbidden"
    status = 403


class PasswordChangeRequired(HotlineError):
    error_id = "password-change-required"
    status = 403


def allow(
    *roles: Role, page: bool = False, before_password_change: bool = False, signed: bool = False
) -> Callable[[Handler], Handler]:
    """Declare who may call a route; `page` routes answer people, not scripts:
    they redirect to the login page and explain a refusal in Chinese.
    `before_password_change`: open to a user still holding a one-time
    password (who may do nothing else until they set their own). `signed`:
    a public route a peer (110) proves itself on by signature, so it is not
    throttled or size-limited as an anonymous visitor is."""

    def mark(handler: Handler) -> Handler:
        handler.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        handler.is_page = page  # type: ignore[attr-defined]
        handler.before_password_change = before_password_change  # type: ignore[attr-defined]
        handler.signed = signed  # type: ignore[attr-defined]
        return handler

    return mark


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # aiohttp answers 404/405 itself
    roles = getattr(request.match_info.handler, "allowed_roles", None)
    if roles is None:
        log.error("route %s declares no role; refused", request.path)
        raise HotlineError("route declares no role", path=request.path)
    if Role.PUBLIC in roles:
        return await handler(request)
    identify = request.app.get(IDENTIFY)
    user = await identify(request) if identify is not None else None
    is_page = getattr(request.match_info.handler, "is_page", False)
    if user is None:
        if is_page:
            raise web.HTTPFound(f"/login?next={request.path_qs}")
        raise Unauthenticated("请先登录")
    if not (set(getattr(user, "roles", ())) & roles):
        if is_page:
            return web.Response(
                status=403,
                content_type="text/html",
                charset="utf-8",
                text="<!doctype html><meta charset=utf-8><title>无权访问</title>"
                '<p>您的账号无权访问此页面。<a href="/">返回首页</a></p>'
                '<script src="/banner.js"></script>',
            )
        raise Forbidden("您的角色无权执行此操作")
    if getattr(user, "must_change_password", False) and not getattr(
        request.match_info.handler, "before_password_change", False
    ):
        if is_page:
            raise web.HTTPFound(f"/login?change=1&next={request.path_qs}")
        raise PasswordChangeRequired("请先修改一次性密码")
    request[USER] = user
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors leave as JSON with a fixed id; nothing leaks a traceback."""
    try:
        return await handler(request)
    except HotlineError as exc:
        resp = web.json_response(exc.to_dict(), status=exc.status, dumps=lambda o: json.dumps(o, ensure_ascii=False))
        if "retry_after" in exc.details:
            resp.headers["Retry-After"] = str(exc.details["retry_after"])
        return resp
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error_id": f"http-{exc.status}", "message": exc.reason, "details": {}}
        return web.json_response(body, status=exc.status)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and (request.transport is None or request.transport.is_closing()):
            raise  # the caller went away: nobody to answer
        if database_unavailable(exc):
            # Nothing was acknowledged: the caller may simply try again.
            log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
            body = {"error_id": "database-unavailable", "message": "数据库暂时不可用，请稍后重试", "details": {}}
            resp = web.json_response(body, status=503, dumps=lambda o: json.dumps(o, ensure_ascii=False))
            resp.headers["Retry-After"] = "2"
            return resp
        # A bug, not the caller's fault: logged with its traceback here, and
        # the caller gets a fixed id instead of aiohttp's bare text page.
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error_id": "internal-error", "message": "服务器内部错误", "details": {}}
        return web.json_response(body, status=500, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def anonymous(request: web.Request) -> bool:
    """A public route called by anyone at all (not a signed peer)."""
    handler = request.match_info.handler
    return Role.PUBLIC in getattr(handler, "allowed_roles", ()) and not getattr(handler, "signed", False)
