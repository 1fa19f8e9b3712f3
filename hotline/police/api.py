"""The 110 link's routes. 110's own requests carry no login: each is
signed (signing.py) and checked here before its body is read as data; the
recording links it receives are signed the same way and expire."""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from hotline import signing
from hotline.errors import BadRequest
from hotline.police.incident import parse_incident, parse_result
from hotline.police.service import PoliceLinkService
from hotline.recordings.api import RECORDINGS
from hotline.recordings.store import RecordingNotFound
from hotline.roles import Role
from hotline.web.auth import allow
from hotline.web.json import dumps, json_body, query_text
from hotline.web.pages import page

POLICE = web.AppKey("police", PoliceLinkService)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


async def _signed(request: web.Request) -> dict:
    svc = request.app[POLICE]
    raw = await request.read()
    signing.verify(
        svc.secret,
        request.headers.get(signing.TIMESTAMP),
        request.headers.get(signing.SIGNATURE),
        raw,
        time.time(),
        svc.cfg.max_skew_seconds,
    )
    return await json_body(request)


@allow(Role.PUBLIC, signed=True)
async def incident(request: web.Request) -> web.Response:
    """110 hands over a matter: 201 with the new ticket, 200 with the same
    ticket when the intake number was seen before."""
    inc = parse_incident(await _signed(request))
    ticket, created = await request.app[POLICE].receive(inc)
    return _json(
        {
            "ticket": ticket.number,
            "intake_no": inc.intake_no,
            "created": created,
            "status": ticket.status,
            "status_text": ticket.status_text,
        },
        status=201 if created else 200,
    )


@allow(Role.PUBLIC, signed=True)
async def result(request: web.Request) -> web.Response:
    return _json(await request.app[POLICE].result(parse_result(await _signed(request))))


@allow(Role.PUBLIC)
async def recording(request: web.Request) -> web.StreamResponse:
    """The recording of a call the hotline sent to 110, for 110, until the link expires."""
    svc = request.app[POLICE]
    call_id = request.match_info["call_id"]
    expires = query_text(request, "expires", max_len=12)
    sig = query_text(request, "sig", max_len=64)
    if not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
        raise signing.BadSignature("链接已过期")
    if not hmac.compare_digest(signing.link_signature(svc.secret, call_id, int(expires)), sig):
        raise signing.BadSignature("链接签名不正确")
    path = request.app[RECORDINGS].path(call_id)
    if not path.is_file():
        raise RecordingNotFound("录音文件不存在或已过保存期")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


@allow(Role.AGENT, Role.LEAD, Role.ADMIN)
async def catalogue(request: web.Request) -> web.Response:
    return _json(request.app[POLICE].catalogue())


@allow(Role.LEAD, Role.ADMIN)
async def figures(request: web.Request) -> web.Response:
    month = query_text(request, "month", max_len=7) or None
    if month is not None and not (len(month) == 7 and month[4] == "-"):
        raise BadRequest("month 的格式是 YYYY-MM", field="month")
    return _json(await request.app[POLICE].figures(month))


@allow(Role.LEAD, Role.ADMIN, page=True)
async def police_page(request: web.Request) -> web.StreamResponse:
    return page("police.html")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/110/incidents", incident)
    r.add_post("/api/110/results", result)
    r.add_get("/api/110/recordings/{call_id:[A-Za-z0-9._-]{1,64}}", recording)
    r.add_get("/api/110/catalogue", catalogue)
    r.add_get("/api/110/figures", figures)
    r.add_get("/police", police_page)
