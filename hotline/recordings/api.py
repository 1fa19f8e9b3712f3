"""Playing a recording from the ticket page: authenticated, with range requests."""

from __future__ import annotations

from aiohttp import web

from hotline.recordings.store import RecordingStore
from hotline.roles import Role
from hotline.web.auth import USER, allow

RECORDINGS = web.AppKey("recordings", RecordingStore)


@allow(Role.AGENT, Role.LEAD, Role.ADMIN)
async def play(request: web.Request) -> web.StreamResponse:
    path = await request.app[RECORDINGS].open_for(request.match_info["call_id"], request[USER])
    # FileResponse answers Range requests (206), so the player can seek.
    return web.FileResponse(path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/recordings/{call_id}", play)
