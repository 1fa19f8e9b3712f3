"""The grid workers' routes: their station's tickets, patrol reports (出门找活),
photos; and for the desk, which community owns an address."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import and_, or_, select

from hotline.db.models import Ticket
from hotline.errors import BadRequest
from hotline.grid.photos import PhotoStore
from hotline.grid.reports import file_report
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.api import STORE
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text
from hotline.web.keys import SETTINGS
from hotline.web.pages import page
from hotline.web.throttle import RateLimit, throttle

PHOTOS = web.AppKey("photos", PhotoStore)
REPORTS = web.AppKey("grid_reports", RateLimit)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


@allow(Role.GRID, page=True)
async def grid_page(request: web.Request) -> web.StreamResponse:
    return page("grid.html")


@allow(Role.GRID)
async def my_tickets(request: web.Request) -> web.Response:
    """The station's tickets being handled, and the worker's own reports;
    `?done=1`: the ones the station has answered (fed back, closed) instead."""
    who = request[USER]
    store = request.app[STORE]
    done = request.query.get("done") == "1"
    states = [wf.Status.FEEDBACK.value, wf.Status.CLOSED.value] if done else [wf.Status.DISPATCHED.value]
    async with store.sessions() as db:
        rows = (
            await db.scalars(
                select(Ticket)
                .where(
                    or_(
                        and_(Ticket.department == who.department, Ticket.status.in_(states)),
                        and_(Ticket.channel == "grid", Ticket.agent == who.username, Ticket.status.in_(states))
                        if done
                        else and_(Ticket.channel == "grid", Ticket.agent == who.username),
                    )
                )
                .order_by(
                    *(
                        (Ticket.updated_at.desc(),)
                        if done
                        else (Ticket.deadline_at.is_(None), Ticket.deadline_at, Ticket.id.desc())
                    )
                )
                .limit(200)
            )
        ).all()
    unit = store.tree.units.by_code.get(who.department)
    return _json(
        {
            "unit": {"code": unit.code, "station": unit.station, "path": unit.path} if unit else None,
            "tickets": [{**store.views.view(t, who).as_dict(), "mine": t.department == who.department} for t in rows],
        }
    )


@allow(Role.GRID)
async def report(request: web.Request) -> web.Response:
    """A problem found on patrol becomes a ticket (grid/reports.py)."""
    who = request[USER]
    # Each report is a ticket someone must handle: a worker's account (or
    # whoever holds it) cannot flood the floor with them.
    throttle(request, REPORTS, "上报过于频繁，请稍后再试", by=who.username)
    row = await file_report(request.app[STORE], who, await json_body(request))
    return _json(row, status=201)


@allow(Role.GRID, Role.DEPARTMENT, Role.LEAD, Role.ADMIN)
async def add_photo(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("请以 multipart/form-data 上传照片（表单字段 photo）", field="photo")
    photo = await request.app[PHOTOS].add(request.match_info["number"], request[USER], await request.multipart())
    return _json(photo, status=201)


add_photo.uploads = True  # type: ignore[attr-defined]


@allow(Role.AGENT, Role.LEAD, Role.ADMIN, Role.DEPARTMENT, Role.GRID)
async def get_photo(request: web.Request) -> web.StreamResponse:
    path, content_type = await request.app[PHOTOS].open(int(request.match_info["photo"]), request[USER])
    return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "private, no-store"})


@allow(Role.AGENT, Role.LEAD, Role.ADMIN)
async def locate(request: web.Request) -> web.Response:
    """属地: the grid station an address belongs to (the desk preselects it)."""
    address = query_text(request, "address", max_len=256)
    district = query_text(request, "district", max_len=32)
    if not address:
        raise BadRequest("缺少地址 address", field="address")
    unit = request.app[STORE].tree.units.locate(address, district)
    return _json({"unit": {"code": unit.code, "station": unit.station, "path": unit.path} if unit else None})


def setup(app: web.Application) -> None:
    app[REPORTS] = RateLimit(app[SETTINGS].grid.reports_per_hour)
    r = app.router
    r.add_get("/grid", grid_page)
    r.add_get("/api/grid/tickets", my_tickets)
    r.add_post("/api/grid/reports", report)
    r.add_get("/api/grid/locate", locate)
    r.add_post("/api/tickets/{number:[0-9]{8,20}}/photos", add_photo)
    r.add_get("/api/photos/{photo:[0-9]{1,12}}", get_photo)
