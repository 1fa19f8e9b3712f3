"""Retention at the web edge: the admin's page (periods, the runs' audit, a
run now or a dry run), a ticket's legal hold for leads and admins, and the
daily run in the controller."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from hotline.daily import daily
from hotline.errors import BadRequest
from hotline.retention import rules
from hotline.retention.service import Retention
from hotline.roles import Role
from hotline.tasks import TaskSet
from hotline.tickets.api import STORE
from hotline.web.auth import USER, allow
from hotline.web.json import dumps, json_body, text_field
from hotline.web.keys import AMI, CLOCK, SESSIONS, SETTINGS
from hotline.web.pages import page

log = logging.getLogger(__name__)

RETENTION = web.AppKey("retention", Retention)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def _items(items: list[rules.Purged]) -> list[dict[str, Any]]:
    return [{**i.as_dict(), "text": i.text} for i in items]


@allow(Role.ADMIN, page=True)
async def retention_page(request: web.Request) -> web.StreamResponse:
    return page("retention.html")


@allow(Role.ADMIN)
async def overview(request: web.Request) -> web.Response:
    s = request.app[SETTINGS]
    r = s.retention
    periods = {
        "recordings": s.recordings.retention_days,
        "voice-messages": r.voice_messages_days,
        "photos": r.photos_days,
        "callers": r.callers_days,
        "sessions": r.sessions_days,
        "logs": r.logs_days,
    }
    runs = await request.app[RETENTION].runs()
    return _json(
        {
            "periods": [{"what": k, "text": rules.WHAT_TEXT[k], "days": v} for k, v in periods.items()],
            "schedule": r.at if r.schedule else None,
            "timezone": s.ivr.timezone,
            "runs": [
                {
                    "at": run.at,
                    "actor": run.actor,
                    "items": [{**i, "text": rules.WHAT_TEXT.get(str(i.get("what")), "")} for i in run.items],
                }
                for run in runs
            ],
        }
    )


@allow(Role.ADMIN)
async def run_now(request: web.Request) -> web.Response:
    body = await json_body(request)
    dry_run = body.get("dry_run", False)
    if type(dry_run) is not bool:
        raise BadRequest("dry_run 必须是 true 或 false", field="dry_run")
    items = await request.app[RETENTION].run(request[USER].username, dry_run=dry_run)
    return _json({"dry_run": dry_run, "items": _items(items)})


@allow(Role.LEAD, Role.ADMIN)
async def legal_hold(request: web.Request) -> web.Response:
    body = await json_body(request)
    on = body.get("hold")
    if type(on) is not bool:
        raise BadRequest("hold 必须是 true 或 false", field="hold")
    note = text_field(body, "note", max_len=500, strip=True)
    number = request.match_info["number"]
    changed = await request.app[STORE].hold(number, request[USER], on, note)
    return _json({"ticket": number, "legal_hold": on, "changed": changed})


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS]
    client = app[AMI]

    async def rotate() -> None:
        await client.action("LoggerRotate")

    app[RETENTION] = Retention(s, app[SESSIONS], app[CLOCK], rotate_logs=rotate)
    tasks = TaskSet("retention")
    if s.retention.schedule:
        actor = f"schedule@{s.cluster.node}" if s.cluster.node else "schedule"
        job = daily("retention run", s.retention.at, s.ivr.timezone, app[CLOCK], lambda: app[RETENTION].run(actor))
        tasks.spawn(job, name="retention-daily")
    yield
    await tasks.close(grace=0.0)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(retention_ctx)
    r = app.router
    r.add_get("/admin/retention", retention_page)
    r.add_get("/api/retention", overview)
    r.add_post("/api/retention/run", run_now)
    r.add_post("/api/tickets/{number}/legal-hold", legal_hold)
