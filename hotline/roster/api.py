"""The roster's routes: the lead's page, entries, files in and out, the
monthly attendance a payroll clerk opens, and adherence now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import BodyPartReader, web

from hotline.acd.api import ACD
from hotline.errors import BadRequest
from hotline.roles import Role
from hotline.roster import files, need
from hotline.roster.service import RosterService, named
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, query_text
from hotline.web.pages import page

ROSTER = web.AppKey("roster", RosterService)
MAX_UPLOAD = 2 * 1024 * 1024
HEADER = ("日期", "班次", "坐席账号", "姓名")


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _week(request: web.Request) -> tuple[dt.date, int]:
    svc = request.app[ROSTER]
    text = query_text(request, "from", max_len=10)
    try:
        start = dt.date.fromisoformat(text) if text else svc.today() - dt.timedelta(days=svc.today().weekday())
    except ValueError:
        raise BadRequest("from 的格式是 YYYY-MM-DD", field="from") from None
    days_text = query_text(request, "days", max_len=2) or "7"
    if not days_text.isascii() or not days_text.isdigit() or not 1 <= int(days_text) <= 62:
        raise BadRequest("days 是 1-62 天", field="days")
    return start, int(days_text)


def _file(name: str, data: bytes, kind: str) -> web.Response:
    ctype = files.XLSX if kind == "xlsx" else "text/csv; charset=utf-8"
    return web.Response(
        body=data,
        content_type=ctype.split(";")[0],
        charset="utf-8" if kind == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


def _kind(request: web.Request) -> str:
    kind = query_text(request, "format", max_len=8) or "json"
    if kind not in ("json", "csv", "xlsx"):
        raise BadRequest("format 是 json、csv 或 xlsx", field="format")
    return kind


@allow(Role.LEAD, Role.ADMIN, page=True)
async def roster_page(request: web.Request) -> web.StreamResponse:
    return page("roster.html")


@allow(Role.LEAD, Role.ADMIN)
async def week(request: web.Request) -> web.Response:
    svc = request.app[ROSTER]
    start, days = _week(request)
    kind = _kind(request)
    entries = await svc.entries(start, days)
    if kind != "json":
        rows = [(e["day"], e["shift_name"], e["agent"], e["agent_name"]) for e in entries]
        name = f"roster-{start.isoformat()}"
        data = files.write_csv(HEADER, rows) if kind == "csv" else files.write_xlsx("排班", HEADER, rows)
        return _file(name, data, kind)
    shifts = [{"code": s.code, "name": s.name, "start": s.start, "end": s.end} for s in svc.cfg.shifts]
    return _json({"from": start.isoformat(), "days": days, "shifts": shifts, "entries": entries})


@allow(Role.LEAD, Role.ADMIN)
async def add(request: web.Request) -> web.Response:
    body = await json_body(request)
    rows = body.get("rows")
    if type(rows) is not list or not 1 <= len(rows) <= files.MAX_ROWS or any(type(r) is not dict for r in rows):
        raise BadRequest("rows 是 [{day, shift, agent}] 列表", field="rows")
    got = await request.app[ROSTER].add([(r.get("day"), r.get("shift"), r.get("agent")) for r in rows], request[USER])
    return _json(got, status=201)


@allow(Role.LEAD, Role.ADMIN)
async def remove(request: web.Request) -> web.Response:
    await request.app[ROSTER].remove(int(request.match_info["id"]))
    return _json({"ok": True})


@allow(Role.LEAD, Role.ADMIN)
async def upload(request: web.Request) -> web.Response:
    """A CSV or XLSX file: 日期, 班次 (code or name), 坐席账号 — all rows or none."""
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("请以 multipart/form-data 上传文件（表单字段 file）", field="file")
    part = await (await request.multipart()).next()
    if not isinstance(part, BodyPartReader) or part.name != "file":
        raise BadRequest("请上传排班文件（表单字段 file）", field="file")
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > MAX_UPLOAD:
            raise BadRequest("排班文件不能超过 2 MB", field="file")
    rows = files.read_rows(bytes(data), part.filename or "")
    if not rows:
        raise BadRequest("文件中没有排班行（日期, 班次, 坐席账号）", field="file")
    got = await request.app[ROSTER].add(
        [(r[0], r[1] if len(r) > 1 else "", r[2] if len(r) > 2 else "") for r in rows], request[USER]
    )
    return _json(got, status=201)


upload.uploads = True  # type: ignore[attr-defined]


@allow(Role.LEAD, Role.ADMIN)
async def attendance(request: web.Request) -> web.Response:
    svc = request.app[ROSTER]
    month = query_text(request, "month", max_len=7) or svc.today().strftime("%Y-%m")
    kind = _kind(request)
    rows = await svc.attendance(month)
    tz = svc.tz

    def t(x: dt.datetime | None) -> str:
        return x.astimezone(tz).strftime("%m-%d %H:%M") if x else ""

    out: list[dict[str, Any]] = [
        {
            "day": a.entry.day.isoformat(),
            "shift": svc.shifts[a.entry.shift].name,
            "agent": a.entry.agent,
            "verdict": a.verdict,
            "text": a.text,
            "first_in": t(a.first_in),
            "last_out": t(a.last_out),
            "late_minutes": a.late_minutes,
            "early_minutes": a.early_minutes,
        }
        for a in rows
    ]
    if kind == "json":
        return _json({"month": month, "rows": out})
    header = ("日期", "班次", "坐席账号", "考勤", "首次登录", "最后退出", "迟到分钟", "早退分钟")
    table = [
        (
            r["day"],
            r["shift"],
            r["agent"],
            r["text"],
            r["first_in"],
            r["last_out"],
            r["late_minutes"],
            r["early_minutes"],
        )
        for r in out
    ]
    data = files.write_csv(header, table) if kind == "csv" else files.write_xlsx(f"考勤 {month}", header, table)
    return _file(f"attendance-{month}", data, kind)


@allow(Role.LEAD, Role.ADMIN)
async def adherence(request: web.Request) -> web.Response:
    svc = request.app[ROSTER]
    return _json(named((await svc.adherence()).as_dict(), svc.namer()))


@allow(Role.LEAD, Role.ADMIN)
async def staff_need(request: web.Request) -> web.Response:
    """Per shift, the people the staffing advisor's lines need (with
    shrinkage), beside those rostered each day: under-staffed shifts a week ahead."""
    svc = request.app[ROSTER]
    start, days = _week(request)
    advice = await request.app[ACD].staffing()
    lines = [s["recommended"] for s in advice["slots"]]
    per_shift = need.per_shift(lines, svc.cfg.shifts, svc.cfg.on_line_share)
    entries = await svc.entries(start, days)
    rostered: dict[tuple[str, str], int] = {}
    for e in entries:
        rostered[(e["day"], e["shift"])] = rostered.get((e["day"], e["shift"]), 0) + 1
    cells: list[dict[str, Any]] = [
        {"day": d, "shift": s.code, "need": per_shift[s.code], "rostered": rostered.get((d, s.code), 0)}
        for d in ((start + dt.timedelta(days=i)).isoformat() for i in range(days))
        for s in svc.cfg.shifts
    ]
    return _json(
        {
            "basis": advice["basis"],
            "enough": advice["enough"],
            "on_line_share": round(svc.cfg.on_line_share, 3),
            "shrinkage": {
                "breaks_pct": svc.cfg.breaks_pct,
                "ticket_work_pct": svc.cfg.ticket_work_pct,
                "absence_pct": svc.cfg.absence_pct,
            },
            "per_shift": per_shift,
            "cells": cells,
            "short": [c for c in cells if int(c["rostered"]) < int(c["need"])],
        }
    )


@allow(Role.AGENT, Role.LAWYER, Role.LEAD, page=True)
async def my_page(request: web.Request) -> web.StreamResponse:
    return page("myroster.html")


@allow(Role.AGENT, Role.LAWYER, Role.LEAD)
async def mine(request: web.Request) -> web.Response:
    """The next two weeks' roster (posted for all), mine marked, and my swaps."""
    svc, who = request.app[ROSTER], request[USER]
    entries = await svc.entries(svc.today(), 14)
    return _json(
        {
            "me": who.username,
            "entries": [{**e, "mine": e["agent"] == who.username} for e in entries],
            "swaps": await svc.swaps.listing(who.username),
        }
    )


@allow(Role.AGENT, Role.LAWYER, Role.LEAD)
async def ask_swap(request: web.Request) -> web.Response:
    body = await json_body(request)
    swap = await request.app[ROSTER].swaps.ask(
        request[USER], body.get("entry"), body.get("with_agent"), body.get("their_entry"), body.get("note")
    )
    return _json({"id": swap, "state": "pending"}, status=201)


@allow(Role.LEAD, Role.ADMIN)
async def swaps(request: web.Request) -> web.Response:
    return _json({"swaps": await request.app[ROSTER].swaps.listing()})


@allow(Role.LEAD)
async def decide_swap(request: web.Request) -> web.Response:
    approve = request.match_info["decision"] == "approve"
    got = await request.app[ROSTER].swaps.decide(int(request.match_info["id"]), approve, request[USER])
    return _json(got)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/lead/roster", roster_page)
    r.add_get("/api/roster", week)
    r.add_post("/api/roster", add)
    r.add_delete("/api/roster/{id:[0-9]{1,12}}", remove)
    r.add_post("/api/roster/import", upload)
    r.add_get("/api/roster/attendance", attendance)
    r.add_get("/api/roster/adherence", adherence)
    r.add_get("/api/roster/need", staff_need)
    r.add_get("/roster", my_page)
    r.add_get("/api/roster/mine", mine)
    r.add_post("/api/roster/swaps", ask_swap)
    r.add_get("/api/roster/swaps", swaps)
    r.add_post("/api/roster/swaps/{id:[0-9]{1,12}}/{decision:approve|refuse}", decide_swap)
