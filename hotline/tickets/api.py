"""Desk page and websocket, ticket workflow, knowledge base, gateways' API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.errors import BadRequest
from hotline.numbers import ascii_digits
from hotline.roles import Role
from hotline.tickets.calls import HAND_ON, CallControls
from hotline.tickets.desk import CLOSE, DeskHub
from hotline.tickets.handoff import Handoff
from hotline.tickets.revisit import RevisitCalls
from hotline.tickets.store import TicketStore
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text, text_field
from hotline.web.login import COOKIE
from hotline.web.origin import websocket
from hotline.web.pages import page
from hotline.web.ws import feed

STORE = web.AppKey("tickets", TicketStore)
DESKS = web.AppKey("desks", DeskHub)
HANDOFF = web.AppKey("handoff", Handoff)
CONTROLS = web.AppKey("call_controls", CallControls)
REVISITS = web.AppKey("revisits", RevisitCalls)

STAFF = (Role.AGENT, Role.LEAD, Role.ADMIN)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


# -- the desk ------------------------------------------------------------------------------
@allow(Role.AGENT, Role.LEAD, page=True)
async def desk_page(request: web.Request) -> web.StreamResponse:
    return page("desk.html")


@allow(*STAFF, Role.DEPARTMENT, page=True)
async def tickets_page(request: web.Request) -> web.StreamResponse:
    return page("tickets.html")


@allow(Role.AGENT, Role.LEAD)
async def desk_ws(request: web.Request) -> web.StreamResponse:
    async with websocket(request, COOKIE) as ws:
        hub = request.app[DESKS]
        agent = request[USER].username
        desk = hub.join(agent)

        async def send(frame: str) -> bool:
            if frame == CLOSE:
                await ws.close(code=4000, message=b"desk fell behind; reload the open ticket")
                return False
            await ws.send_str(frame)
            return True

        await feed(ws, dumps(hub.seat_frame(agent)), desk.queue, send, lambda: hub.leave(desk))
    return ws


@allow(Role.AGENT, Role.LEAD)
async def desk_current(request: web.Request) -> web.Response:
    who = request[USER]
    app = request.app
    open_ticket = await app[STORE].open_ticket_of(who.username)
    call = app[HANDOFF].call_of(who.username)
    return _json(
        {
            "open": open_ticket,
            **app[DESKS].seat_frame(who.username),
            "in_call": call is not None and open_ticket is not None and call.ticket == open_ticket.ticket.number,
            "held": bool(call and call.held),
            # The controller's clock, so the page's timers count from the seat's `since`.
            "now": app[DESKS].acd.now(),
        }
    )


@allow(Role.AGENT, Role.LEAD)
async def call_control(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    number: object = ""
    if action in HAND_ON:
        number = (await json_body(request)).get("number")
    if not isinstance(number, str):
        raise BadRequest("缺少号码 number", field="number")
    return _json(await request.app[CONTROLS].act(request[USER], action, number))


@allow(Role.AGENT, Role.LEAD)
async def transfer_targets(request: web.Request) -> web.Response:
    return _json({"targets": request.app[CONTROLS].targets()})


# -- tickets -------------------------------------------------------------------------------
@allow(*STAFF, Role.DEPARTMENT, Role.GRID)
async def meta(request: web.Request) -> web.Response:
    return _json(request.app[STORE].tree.as_json())


@allow(*STAFF, Role.DEPARTMENT, Role.GRID)
async def list_tickets(request: web.Request) -> web.Response:
    limit_text = query_text(request, "limit", max_len=4) or "50"
    if not ascii_digits(limit_text):
        raise BadRequest("limit 必须是整数", field="limit")
    rows = await request.app[STORE].search(
        request[USER],
        status=query_text(request, "status", max_len=16) or None,
        caller=query_text(request, "caller", max_len=20) or None,
        department=query_text(request, "department", max_len=32) or None,
        limit=int(limit_text),
    )
    return _json({"tickets": rows})


@allow(Role.LEAD, Role.ADMIN)
async def ledger(request: web.Request) -> web.Response:
    return _json({"overdue": await request.app[STORE].ledger(request[USER])})


@allow(Role.LEAD, Role.ADMIN)
async def unsubmitted(request: web.Request) -> web.Response:
    in_call = {c.ticket for c in request.app[HANDOFF].calls() if c.ticket}
    return _json({"tickets": await request.app[STORE].unsubmitted(in_call)})


@allow(Role.LEAD)
async def chase(request: web.Request) -> web.Response:
    number = request.match_info["number"]
    agent = await request.app[STORE].chase(number, request[USER])
    text = f"值班长提醒：工单 {number} 尚未提交，请尽快填写并提交。"
    reached = request.app[DESKS].push(agent, {"type": "chase", "ticket": number, "text": text}) if agent else 0
    return _json({"ticket": number, "agent": agent, "desks": reached})


@allow(*STAFF, Role.DEPARTMENT, Role.GRID)
async def get_ticket(request: web.Request) -> web.Response:
    return _json(await request.app[STORE].get(request.match_info["number"], request[USER]))


@allow(Role.AGENT, Role.LEAD)
async def save_draft(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(await request.app[STORE].save_draft(request.match_info["number"], request[USER], body))


@allow(Role.AGENT, Role.LEAD)
async def submit(request: web.Request) -> web.Response:
    body = await json_body(request)
    who = request[USER]
    ticket = await request.app[STORE].submit(request.match_info["number"], who, body)
    request.app[HANDOFF].ticket_submitted(ticket.number, ticket.agent)
    return _json(ticket)


@allow(*STAFF, Role.DEPARTMENT, Role.GRID)
async def act(request: web.Request) -> web.Response:
    body = await json_body(request)
    return _json(
        await request.app[STORE].act(request.match_info["number"], request.match_info["action"], request[USER], body)
    )


@allow(Role.AGENT, Role.LEAD)
async def revisit_call(request: web.Request) -> web.Response:
    return _json(await request.app[REVISITS].place(request.match_info["number"], request[USER]))


# -- knowledge base --------------------------------------------------------------------------
@allow(*STAFF)
async def kb_search(request: web.Request) -> web.Response:
    return _json({"articles": await request.app[STORE].kb.search(query_text(request, "q", max_len=100))})


@allow(Role.LEAD, Role.ADMIN)
async def kb_add(request: web.Request) -> web.Response:
    body = await json_body(request)
    article = await request.app[STORE].kb.add(
        text_field(body, "title", max_len=128, required=True),
        text_field(body, "body", max_len=20_000, required=True),
        text_field(body, "category", max_len=32),
    )
    return _json({"id": article}, status=201)


# -- other channels ------------------------------------------------------------------------------
@allow(Role.GATEWAY)
async def gateway_create(request: web.Request) -> web.Response:
    """Web, WeChat, SMS, app and 110 gateways: the token names the channel."""
    body = await json_body(request)
    who = request[USER]
    channel = who.username.removeprefix("gateway:")
    ticket = await request.app[STORE].create(channel, who.username, body)
    return _json(ticket, status=201)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/desk", desk_page)
    r.add_get("/ws/desk", desk_ws)
    r.add_get("/tickets", tickets_page)
    r.add_get("/api/desk/current", desk_current)
    r.add_get("/api/desk/targets", transfer_targets)
    r.add_post("/api/desk/call/{action:hold|unhold|hangup|transfer|attended|cancel-attended|conference}", call_control)
    r.add_get("/api/tickets/meta", meta)
    r.add_get("/api/tickets/ledger", ledger)
    r.add_get("/api/tickets/unsubmitted", unsubmitted)
    r.add_post("/api/tickets/{number:[0-9]{8,20}}/chase", chase)
    r.add_get("/api/tickets", list_tickets)
    r.add_get("/api/tickets/{number:[0-9]{8,20}}", get_ticket)
    r.add_put("/api/tickets/{number:[0-9]{8,20}}/draft", save_draft)
    r.add_post("/api/tickets/{number:[0-9]{8,20}}/submit", submit)
    r.add_post(
        "/api/tickets/{number:[0-9]{8,20}}/{action:dispatch|return|feedback|revisit|approve|reject|receive|note|handover}",
        act,
    )
    r.add_post("/api/tickets/{number:[0-9]{8,20}}/revisit-call", revisit_call)
    r.add_get("/api/kb", kb_search)
    r.add_post("/api/kb", kb_add)
    r.add_post("/api/channels/tickets", gateway_create)
