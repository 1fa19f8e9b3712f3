"""Admin API for IVR flows, and the shift lead's emergency announcement."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hotline.errors import BadRequest
from hotline.ivr.agi import IvrDriver
from hotline.ivr.announcements import AnnouncementService
from hotline.ivr.flow import edges
from hotline.ivr.flow_yaml import MAX_DOCUMENT_CHARS
from hotline.ivr.service import FlowService
from hotline.roles import Role
from hotline.web.auth import USER, allow
from hotline.web.json import json_body
from hotline.web.pages import page

FLOWS = web.AppKey("flows", FlowService)
ANNOUNCEMENTS = web.AppKey("announcements", AnnouncementService)
DRIVER = web.AppKey("ivr", IvrDriver)


def _actor(request: web.Request) -> str:
    return request[USER].username


def _problems(problems: list) -> list[dict[str, str]]:
    return [{"node": p.node, "message": p.message} for p in problems]


def _document(body: dict) -> str:
    doc = body.get("document")
    if type(doc) is not str or not doc.strip():
        raise BadRequest("缺少流程文档 document", field="document")
    if len(doc) > MAX_DOCUMENT_CHARS:
        raise BadRequest(f"流程文档过大（上限 {MAX_DOCUMENT_CHARS} 个字符）", field="document")
    return doc


async def _graph(service: FlowService, document: str) -> dict[str, object]:
    flow, problems = await service.check_async(document)
    if flow is None:
        return {"nodes": [], "edges": [], "start": None}
    return {
        "start": flow.start,
        "nodes": [{"id": nid, "type": n.type, "label": n.label or nid} for nid, n in flow.nodes.items()],
        "edges": [{"from": nid, "to": t, "label": label} for nid, n in flow.nodes.items() for label, t in edges(n)],
    }


@allow(Role.ADMIN)
async def list_flows(request: web.Request) -> web.Response:
    return web.json_response({"flows": await request.app[FLOWS].list()})


@allow(Role.ADMIN)
async def get_flow(request: web.Request) -> web.Response:
    service = request.app[FLOWS]
    data = await service.get(request.match_info["name"])
    data["graph"] = await _graph(service, str(data["draft"]))
    data["warnings"] = _problems(await service.warnings_async(str(data["draft"])))
    return web.json_response(data)


@allow(Role.ADMIN)
async def put_draft(request: web.Request) -> web.Response:
    service = request.app[FLOWS]
    doc = _document(await json_body(request))
    problems = await service.save_draft(request.match_info["name"], doc, _actor(request))
    return web.json_response(
        {
            "saved": True,
            "problems": _problems(problems),
            "warnings": _problems(await service.warnings_async(doc)),
            "graph": await _graph(service, doc),
        }
    )


@allow(Role.ADMIN)
async def validate_flow(request: web.Request) -> web.Response:
    service = request.app[FLOWS]
    doc = _document(await json_body(request))
    _, problems = await service.check_async(doc)
    return web.json_response(
        {
            "valid": not problems,
            "problems": _problems(problems),
            "warnings": _problems(await service.warnings_async(doc)),
            "graph": await _graph(service, doc),
        }
    )


@allow(Role.ADMIN)
async def publish(request: web.Request) -> web.Response:
    # An invalid flow raises FlowRejected: 422 with every problem listed.
    service = request.app[FLOWS]
    version = await service.publish(request.match_info["name"], _actor(request))
    # Measured now from the prompts just made, not estimated.
    compiled = service.current(request.match_info["name"])
    warnings = await asyncio.to_thread(service.warnings, compiled.flow if compiled else None)
    return web.json_response({"version": version, "warnings": _problems(warnings)})


@allow(Role.ADMIN)
async def rollback(request: web.Request) -> web.Response:
    body = await json_body(request)
    version = body.get("version")
    if type(version) is not int or not 1 <= version < 2**31:
        raise BadRequest("version 必须是正整数", field="version")
    done = await request.app[FLOWS].rollback(request.match_info["name"], version, _actor(request))
    return web.json_response({"current_version": done})


@allow(Role.ADMIN)
async def get_version(request: web.Request) -> web.Response:
    try:
        version = int(request.match_info["version"])
    except ValueError:
        raise BadRequest("版本号必须是整数") from None
    doc = await request.app[FLOWS].version(request.match_info["name"], version)
    return web.json_response({"version": version, "document": doc})


@allow(Role.ADMIN)
async def audit(request: web.Request) -> web.Response:
    return web.json_response({"audit": await request.app[FLOWS].audit(request.match_info["name"])})


@allow(Role.LEAD, Role.ADMIN)
async def get_announcement(request: web.Request) -> web.Response:
    return web.json_response(request.app[ANNOUNCEMENTS].view())


@allow(Role.LEAD, Role.ADMIN)
async def put_announcement(request: web.Request) -> web.Response:
    body = await json_body(request)
    active = body.get("active")
    if not isinstance(active, bool):
        raise BadRequest("active 必须是 true 或 false", field="active")
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > 500:
        raise BadRequest("公告内容必须是不超过 500 字的文本", field="text")
    return web.json_response(await request.app[ANNOUNCEMENTS].set(active, text, _actor(request)))


@allow(Role.ADMIN, page=True)
async def editor_page(request: web.Request) -> web.StreamResponse:
    return page("ivr.html")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin/ivr", editor_page)
    r.add_get("/api/ivr/flows", list_flows)
    r.add_get("/api/ivr/flows/{name}", get_flow)
    r.add_put("/api/ivr/flows/{name}/draft", put_draft)
    r.add_post("/api/ivr/flows/{name}/validate", validate_flow)
    r.add_post("/api/ivr/flows/{name}/publish", publish)
    r.add_post("/api/ivr/flows/{name}/rollback", rollback)
    r.add_get("/api/ivr/flows/{name}/versions/{version}", get_version)
    r.add_get("/api/ivr/flows/{name}/audit", audit)
    r.add_get("/api/ivr/announcement", get_announcement)
    r.add_put("/api/ivr/announcement", put_announcement)
