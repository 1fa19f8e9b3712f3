"""The controller as a whole: health endpoint, reconnect and resync."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.acd.api import ACD
from hotline.ami.client import AMIClient
from hotline.ami.resync import MirrorKeeper
from hotline.config import Settings
from hotline.pbx.process import Pbx
from hotline.server import AMI, KEEPER
from hotline.sim import seat_interface
from tests.integration.helpers import eventually

pytestmark = pytest.mark.pbx


async def _health(server: TestServer) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/api/health")) as resp:
            return resp.status, await resp.json()


async def test_health_reports_ami_and_asterisk_version(controller: TestServer) -> None:
    status, body = await _health(controller)
    assert status == 200
    assert body["status"] == "ok"
    assert body["ami"]["connected"] is True
    assert body["asterisk_version"].startswith("22.")
    assert body["uptime_s"] >= 0


async def test_health_is_degraded_without_asterisk(pbx: Pbx, controller: TestServer) -> None:
    pbx.stop()
    await eventually(lambda: not controller.app[AMI].connected, timeout=10)
    status, body = await _health(controller)
    assert status == 503
    assert body["status"] == "degraded" and body["ami"]["connected"] is False


async def test_unknown_route_is_404_json(controller: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(controller.make_url("/api/nothing-here")) as resp:
            assert resp.status == 404
            assert (await resp.json())["error_id"] == "http-404"


async def test_restart_asterisk_reconnects_and_resyncs_like_a_fresh_controller(
    pbx: Pbx, settings: Settings, controller: TestServer
) -> None:
    app = controller.app
    client, keeper = app[AMI], app[KEEPER]
    # Give the mirror something a restart wipes out: an agent's membership
    # (which the controller re-applies) and a waiting caller (which is gone).
    await app[ACD].login("seat05", "agent05", "坐席五")
    await client.action(
        "Originate",
        Channel="Local/s@hotline-fallback",
        Application="Wait",
        Data="600",
        CallerID="<13700000001>",
        Async="true",
    )
    await eventually(lambda: keeper.mirror.queues.get("hotline") and keeper.mirror.queues["hotline"].callers)
    await eventually(lambda: seat_interface("seat05") in keeper.mirror.queues["hotline"].members)

    loop = asyncio.get_running_loop()
    resyncs_before = keeper.resyncs
    await asyncio.to_thread(pbx.stop)
    stopped = loop.time()
    await asyncio.to_thread(pbx.start)
    await eventually(lambda: client.connected and keeper.resyncs > resyncs_before, timeout=10)
    reconnect_s = loop.time() - stopped
    assert reconnect_s < 10, f"reconnect took {reconnect_s:.1f} s"
    assert client.connections >= 2

    # A mirror built from scratch now must hold exactly what ours holds.
    fresh_client = AMIClient(settings.ami)
    fresh = MirrorKeeper(fresh_client)
    await fresh_client.start()
    try:
        await eventually(lambda: fresh.mirror.synced, timeout=15)
        await eventually(lambda: seat_interface("seat05") in keeper.mirror.queues["hotline"].members)
        await eventually(lambda: fresh.mirror.view() == keeper.mirror.view(), timeout=5)
        view = keeper.mirror.view()
        assert view["channels"] == {}, "ghost channels survived the restart"
        assert view["queues"]["hotline"]["callers"] == {}, "a ghost caller survived the restart"
        assert list(view["queues"]["hotline"]["members"]) == [seat_interface("seat05")]

        # Events after the reconnect keep both mirrors in step.
        await app[ACD].login("seat06", "agent06", "坐席六")
        await eventually(lambda: seat_interface("seat06") in keeper.mirror.queues["hotline"].members)
        await eventually(lambda: fresh.mirror.view() == keeper.mirror.view(), timeout=5)
    finally:
        await fresh_client.close()
