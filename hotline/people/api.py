"""The administrator's users page and its API: list, create, edit, reset a
password, disable and enable, unlock; every change audited. A change that
ends someone's logins closes their open pages too."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web

from hotline.acd import api as acd_api
from hotline.people.admin import Changed, UserAdmin, parse_roles
from hotline.people.views import ROLE_TEXT
from hotline.roles import Role
from hotline.tickets import api as tickets_api
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text, text_field
from hotline.web.keys import SESSIONS, SETTINGS
from hotline.web.login import THROTTLE
from hotline.web.origin import WEBSOCKETS
from hotline.web.pages import page

ADMIN = web.AppKey("user_admin", UserAdmin)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _who(request: web.Request) -> str:
    return request[USER].username


async def _answer(request: web.Request, changed: Changed, status: int = 200) -> web.Response:
    if changed.ended:
        await request.app[WEBSOCKETS].close_sessions(set(changed.ended))
    body: dict[str, object] = {"user": changed.user}
    if changed.password:
        body["password"] = changed.password  # shown once, to the administrator who made it
    return _json(body, status)


@allow(Role.ADMIN, page=True)
async def users_page(request: web.Request) -> web.StreamResponse:
    return page("users.html")


@allow(Role.ADMIN)
async def list_users(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    return _json(
        {
            "users": await admin.everyone(),
            "roles": [{"role": r.value, "text": t} for r, t in ROLE_TEXT.items()],
            "units": [{"code": c, "name": n} for c, n in sorted(admin.units.items())],
            "timezone": request.app[SETTINGS].ivr.timezone,  # every time on the page is the city's
        }
    )


@allow(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    changed = await request.app[ADMIN].create(
        _who(request),
        text_field(body, "username", max_len=64, required=True),
        text_field(body, "display_name", max_len=64, required=True),
        parse_roles(body.get("roles")),
        text_field(body, "department", max_len=32),
        text_field(body, "skills", max_len=200),
    )
    return await _answer(request, changed, 201)


@allow(Role.ADMIN)
async def edit(request: web.Request) -> web.Response:
    body = await json_body(request)

    def given(name: str, max_len: int) -> str | None:
        return text_field(body, name, max_len=max_len) if name in body else None

    changed = await request.app[ADMIN].edit(
        _who(request),
        request.match_info["username"],
        display_name=given("display_name", 64),
        roles=parse_roles(body["roles"]) if "roles" in body else None,
        department=given("department", 32),
        skills=given("skills", 200),
    )
    return await _answer(request, changed)


@allow(Role.ADMIN)
async def reset_password(request: web.Request) -> web.Response:
    return await _answer(
        request, await request.app[ADMIN].reset_password(_who(request), request.match_info["username"])
    )


@allow(Role.ADMIN)
async def disable(request: web.Request) -> web.Response:
    return await _answer(
        request, await request.app[ADMIN].set_active(_who(request), request.match_info["username"], False)
    )


@allow(Role.ADMIN)
async def enable(request: web.Request) -> web.Response:
    return await _answer(
        request, await request.app[ADMIN].set_active(_who(request), request.match_info["username"], True)
    )


@allow(Role.ADMIN)
async def unlock(request: web.Request) -> web.Response:
    username = request.match_info["username"]
    await request.app[ADMIN].unlocked(_who(request), username)
    request.app[THROTTLE].forget(username)
    return _json({"user": await request.app[ADMIN].get(username)})


@allow(Role.ADMIN)
async def audit(request: web.Request) -> web.Response:
    username = query_text(request, "username", max_len=64) or None
    return _json({"audit": await request.app[ADMIN].audit(username=username)})


async def people_ctx(app: web.Application) -> AsyncIterator[None]:
    acd, throttle = app[acd_api.ACD], app[THROTTLE]

    def seat_of(username: str) -> str:
        seat = acd.seat_of_agent(username)
        return seat.name if seat is not None else ""

    units = {code: d.name for code, d in app[tickets_api.STORE].tree.departments.items()}
    app[ADMIN] = UserAdmin(app[SESSIONS], units, seat_of, lambda username: throttle.locked(username, time.monotonic()))
    yield


def setup(app: web.Application) -> None:
    r = app.router
    name = "{username:[A-Za-z0-9_.-]{2,64}}"
    r.add_get("/admin/users", users_page)
    r.add_get("/api/admin/users", list_users)
    r.add_post("/api/admin/users", create)
    r.add_get("/api/admin/users/audit", audit)
    r.add_patch(f"/api/admin/users/{name}", edit)
    r.add_post(f"/api/admin/users/{name}/reset-password", reset_password)
    r.add_post(f"/api/admin/users/{name}/disable", disable)
    r.add_post(f"/api/admin/users/{name}/enable", enable)
    r.add_post(f"/api/admin/users/{name}/unlock", unlock)
