"""Two controllers on one PostgreSQL: one leads, and when it stops the other
takes over; /api/health and /metrics say which (what monitoring reads), and
the lead's seat map shows every node, and a node that went silent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from hotline import accounts
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.models import Ticket
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.server import KEEPER, create_app
from hotline.web.keys import SESSIONS, SETTINGS
from tests.conftest import Clock
from tests.integration.browser import SHOTS, chromium, sign_in
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
        async with b.app[SESSIONS]() as db, db.begin():
            _, password = await accounts.create_user(db, "cluster-lead", "值班长", [Role.LEAD])
        async with chromium() as browser:
            # The lead watches node b's seat map; node a (the leader) stops.
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto(str(b.make_url("/lead/seatmap")))
            await sign_in(page, "cluster-lead", password, "/lead/seatmap")
            await page.wait_for_selector("#nodes [data-node=a].up", timeout=15000)
            assert "★主控" in await page.inner_text("#nodes [data-node=a]")
            assert "正常" in await page.inner_text("#nodes [data-node=b]")
            await a.close()
            took = await eventually(lambda: _leading(b), timeout=10)
            assert took["node"] == "b" and took["epoch"] == first["epoch"] + 1
            await page.wait_for_selector("#nodes [data-node=a].down", timeout=15000)
            text = await page.inner_text("#nodes [data-node=a]")
            assert "失联" in text and "最后心跳" in text
            assert "★主控" in await page.inner_text("#nodes [data-node=b]")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-node-down.png"), full_page=True)
        token = ensure_secrets(b.app[SETTINGS])["metrics_token"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(b.make_url("/metrics"), headers={"Authorization": f"Bearer {token}"}) as resp,
        ):
            metrics = await resp.text()
        assert 'hotline_cluster_leader{node="b"} 1.0' in metrics
    finally:
        for server in servers.values():
            await server.close()


async def _leading(server: TestServer) -> dict[str, Any] | None:
    view = await cluster_health(server)
    return view if view["leading"] else None


FORM = {"category": "market-consumer", "district": "南城区", "content": "预付卡商家跑路", "caller": "13500000000"}


async def test_postgresql_restarted_mid_burst_loses_no_acknowledged_ticket(
    pbx: Pbx, settings: Settings, clock: Clock, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = await postgres.new_database()
    own = settings.model_validate(
        settings.model_dump() | {"state_dir": tmp_path / "state", "database": {"url": url}, "cluster": {"node": "a"}}
    )
    adopt_secrets(settings, own)
    token = ensure_secrets(own)["gateway_tokens"]["sms"]
    server = TestServer(create_app(own, clock=clock), host=settings.web.host, port=settings.web.port)
    await server.start_server()
    acknowledged: list[str] = []
    refused: list[dict[str, Any]] = []
    try:
        stop = asyncio.Event()

        async def writer(http: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                async with http.post(
                    server.make_url("/api/channels/tickets"), json=FORM, headers={"Authorization": f"Bearer {token}"}
                ) as resp:
                    body = await resp.json()
                    if resp.status == 201:
                        acknowledged.append(body["number"])
                    else:
                        refused.append({"status": resp.status, **body})
                        await asyncio.sleep(0.1)

        async with aiohttp.ClientSession() as http:
            writers = [asyncio.ensure_future(writer(http)) for _ in range(6)]
            await eventually(lambda: len(acknowledged) >= 40, timeout=60)
            await asyncio.to_thread(postgres.restart)
            before = len(acknowledged)
            # The controller carries on by itself once the server is back.
            await eventually(lambda: len(acknowledged) >= before + 40, timeout=60)
            stop.set()
            await asyncio.gather(*writers)
        # What was refused while the server restarted says so, and may be sent again.
        assert all(r["status"] == 503 and r["error_id"] == "database-unavailable" for r in refused), refused[:3]
        await eventually(lambda: _leading(server), timeout=15)
    finally:
        await server.close()
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            stored = set((await conn.scalars(select(Ticket.number))).all())
    finally:
        await engine.dispose()
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)
    assert len(set(acknowledged)) == len(acknowledged)
    print(f"\nPostgreSQL restarted: {len(acknowledged)} acknowledged, all kept; {len(refused)} refused with 503")
