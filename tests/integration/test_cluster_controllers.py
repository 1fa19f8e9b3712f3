"""Two controllers on one PostgreSQL: one leads, and when it stops the other
takes over; /api/health says which (what a monitoring system reads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.config import Settings
from hotline.pbx.process import Pbx
from hotline.server import KEEPER, create_app
from tests.conftest import Clock
from tests.integration.conftest import adopt_secrets
from tests.integration.helpers import eventually
from tests.pg import PostgresServer

pytestmark = pytest.mark.pbx


async def cluster_health(server: TestServer) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(server.make_url("/api/health")) as resp:
        body = await resp.json()
    assert isinstance(body["cluster"], dict)
    return body["cluster"]


async def test_one_controller_leads_and_the_other_takes_over_when_it_stops(
    pbx: Pbx, settings: Settings, clock: Clock, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = await postgres.new_database()
    servers: dict[str, TestServer] = {}
    for n, node in enumerate(("a", "b")):
        own = settings.model_validate(
            settings.model_dump()
            | {
                "state_dir": tmp_path / node,
                "database": {"url": url},
                "cluster": {"node": node, "poll_seconds": 0.3, "heartbeat_seconds": 0.3},
                # One FastAGI server per controller; the dialplan reaches a's.
                "agi": settings.agi.model_dump() | {"port": settings.agi.port + 70 * n},
            }
        )
        adopt_secrets(settings, own)
        server = TestServer(create_app(own, clock=clock), host=settings.web.host, port=settings.web.port + n)
        await server.start_server()  # one at a time: each upgrades the schema first
        servers[node] = server
        await eventually(lambda: server.app[KEEPER].mirror.synced, timeout=15)
    try:
        a, b = servers["a"], servers["b"]
        first = await eventually(lambda: _leading(a), timeout=10)
        assert (await cluster_health(b))["leading"] is False
        await a.close()
        took = await eventually(lambda: _leading(b), timeout=10)
        assert took["node"] == "b" and took["epoch"] == first["epoch"] + 1
    finally:
        for server in servers.values():
            await server.close()


async def _leading(server: TestServer) -> dict[str, Any] | None:
    view = await cluster_health(server)
    return view if view["leading"] else None
