"""The public web intake (网上受理): no login. A citizen describes the request,
gives a phone number and district, and gets a ticket number and a query code
(查询码); the status page answers to the two together. Everything here is
throttled per client address and size-limited, and answers show no one's
personal data but the citizen's own request."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import select

from hotline.db.models import Ticket, TicketEvent
from hotline.errors import BadRequest, HotlineError
from hotline.numbers import ascii_digits
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.api import STORE
from hotline.web.auth import allow
from hotline.web.json import dumps, json_body
from hotline.web.keys import SETTINGS
from hotline.web.pages import page
from hotline.web.throttle import RateLimit, throttle

FILED = web.AppKey("public_filed", RateLimit)
ASKED = web.AppKey("public_asked", RateLimit)
ASKED_TICKET = web.AppKey("public_asked_ticket", RateLimit)

# What a citizen sees of the history: steps, not who took them.
PUBLIC_STEPS = {
    "accept": "已受理",
    "answer": "已答复",
    "dispatch": "已转承办部门办理",
    "approve": "部门已办理",
    "revisit": "已办结",
    "reopen": "重新办理",
    "reject": "重新办理",
    "merge": "已合并办理",
}


class PublicDisabled(HotlineError):
    error_id = "public-disabled"
    status = 404


class NoSuchRequest(HotlineError):
    error_id = "public-request-not-found"
    status = 404


def code_hash(number: str, code: str) -> str:
    return hashlib.sha256(f"{number}:{code}".encode()).hexdigest()


def _field(body: dict[str, Any], name: str, label: str, max_len: int, required: bool = False) -> str:
    value = body.get(name, "")
    if type(value) is not str:
        raise BadRequest(f"{label}必须是文字", field=name)
    value = value.strip()
    if required and not value:
        raise BadRequest(f"请填写{label}", field=name)
    if len(value) > max_len:
        raise BadRequest(f"{label}最多 {max_len} 个字", field=name)
    return value


def _enabled(request: web.Request) -> None:
    if not request.app[SETTINGS].public.enabled:
        raise PublicDisabled("网上受理未开放")


@allow(Role.PUBLIC, page=True)
async def intake_page(request: web.Request) -> web.StreamResponse:
    _enabled(request)
    return page("public.html")


@allow(Role.PUBLIC)
async def file_request(request: web.Request) -> web.Response:
    _enabled(request)
    cfg = request.app[SETTINGS].public
    body = await json_body(request)
    content = _field(body, "content", "诉求内容", cfg.max_content_chars, required=True)
    phone = _field(body, "phone", "联系电话", 20, required=True)
    if not ascii_digits(phone) or not 7 <= len(phone) <= 12:
        raise BadRequest("联系电话必须是 7-12 位数字", field="phone")
    districts = request.app[SETTINGS].tickets.districts
    district = _field(body, "district", "所在区县", 32, required=True)
    if district not in districts:
        raise BadRequest("请选择所在区县", field="district")
    form = {
        "content": content,
        "district": district,
        "caller": phone,
        "caller_name": _field(body, "name", "称呼", 32),
        "address": _field(body, "address", "地址", 200),
    }
    # Counted only once the request is well formed: a citizen who mistyped
    # their number is not locked out by the mistake.
    throttle(request, FILED, "提交过于频繁，请稍后再试")
    code = "".join(secrets.choice("0123456789") for _ in range(8))
    store = request.app[STORE]
    # The number is only known inside the transaction, and the code is
    # hashed with it: both are written together.
    found = await store.suspects(form)
    async with store.tx() as db:
        t = await store.insert(db, "web", "public", form, classified=False, suspects=found)
        t.query_code_hash = code_hash(t.number, code)
        number, created = t.number, t.created_at
    # Not yet classified: the general time limit, counted from now (a
    # category's own limit applies once an agent has classified it).
    expect = (created + dt.timedelta(days=store.cfg.deadline_days)).astimezone(store.tz)
    return web.json_response(
        {
            "number": number,
            "code": code,
            "message": "已提交，请记下工单号和查询码，用于查询办理进度。",
            "expect_by": expect.strftime("%Y年%m月%d日"),
        },
        status=201,
        dumps=dumps,
    )


@allow(Role.PUBLIC)
async def request_status(request: web.Request) -> web.Response:
    _enabled(request)
    body = await json_body(request)
    number = _field(body, "number", "工单号", 20, required=True)
    code = _field(body, "code", "查询码", 8, required=True)
    throttle(request, ASKED, "提交过于频繁，请稍后再试")
    throttle(request, ASKED_TICKET, "该工单查询过于频繁，请一小时后再试", by=number)
    store = request.app[STORE]
    async with store.sessions() as db:
        t = await db.scalar(select(Ticket).where(Ticket.number == number)) if ascii_digits(number) else None
        ok = t is not None and t.query_code_hash and hmac.compare_digest(t.query_code_hash, code_hash(number, code))
        if not ok or t is None:
            # The same answer for a wrong code and a missing number.
            raise NoSuchRequest("工单号或查询码不正确")
        events = (
            await db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
        ).all()
    steps = [
        {"at": e.at.astimezone(store.tz).isoformat(timespec="minutes"), "text": PUBLIC_STEPS[e.action]}
        for e in events
        if e.action in PUBLIC_STEPS
    ]
    reply = ""
    if t.status == wf.Status.CLOSED.value and t.handling == "answered":
        reply = t.answer
    elif t.reviewed_at is not None or t.status == wf.Status.CLOSED.value:
        reply = t.feedback
    return web.json_response(
        {
            "number": t.number,
            "status_text": wf.STATUS_TEXT[wf.Status(t.status)],
            "created_at": t.created_at.astimezone(store.tz).isoformat(timespec="minutes"),
            "content": t.content,
            "steps": steps,
            "reply": reply,
            "merged_into": t.merged_into,
            # Once dispatched, the unit's time limit (the category's).
            "deadline": t.deadline_at.astimezone(store.tz).strftime("%Y年%m月%d日 %H:%M")
            if t.deadline_at and t.status == wf.Status.DISPATCHED.value
            else "",
        },
        dumps=dumps,
    )


@allow(Role.PUBLIC)
async def districts(request: web.Request) -> web.Response:
    _enabled(request)
    return web.json_response({"districts": list(request.app[SETTINGS].tickets.districts)}, dumps=dumps)


def setup(app: web.Application) -> None:
    cfg = app[SETTINGS].public
    app[FILED] = RateLimit(cfg.per_address_hour)
    app[ASKED] = RateLimit(cfg.status_per_address_hour)
    app[ASKED_TICKET] = RateLimit(cfg.status_per_ticket_hour)
    r = app.router
    r.add_get("/public", intake_page)
    r.add_get("/api/public/districts", districts)
    r.add_post("/api/public/requests", file_request)
    r.add_post("/api/public/status", request_status)
