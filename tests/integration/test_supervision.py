"""A PBX crash is not an outage: the supervisor restarts Asterisk, the
controller re-applies its intent, and the shift lead sees it happen."""

from __future__ import annotations

import os
import signal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.acd.api import ACD
from hotline.acd.intent import desired
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.server import KEEPER
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.floor import iface, members, queue_caller, staff
from tests.integration.helpers import eventually

pytestmark = pytest.mark.pbx


async def _health(http: aiohttp.ClientSession, server: TestServer) -> tuple[int, dict]:
    async with http.get(server.make_url("/api/health")) as r:
        return r.status, await r.json()


async def test_kill_9_of_asterisk_is_survived(
    pbx: Pbx, settings: Settings, controller: TestServer, ami: AMIClient
) -> None:
    app = controller.app
    acd = app[ACD]
    await staff(controller, 3)
    await acd.pause("seat02", "training", "agent02")
    intent = {iface(1): (False, ""), iface(2): (True, "培训"), iface(3): (False, "")}

    async def membership(client: AMIClient) -> dict[str, tuple[bool, str]]:
        return {i: (m.paused, m.paused_reason) for i, m in (await members(client)).items()}

    def current_intent() -> dict[str, tuple[bool, str]]:
        # What the controller wants now (after the crash: seats whose call
        # died are in after-call work, paused 话后处理).
        return {w.interface: (w.paused, w.reason) for w in desired(acd.floor).values()}

    async def matches_intent(client: AMIClient, expected: dict[str, tuple[bool, str]] | None = None) -> bool:
        try:
            return await membership(client) == (expected or current_intent())
        except Exception:
            return False

    await eventually(lambda: matches_intent(ami, intent), timeout=15)
    # Calls in the queue: more callers than the two ready seats take; those two talk.
    for _ in range(4):
        await queue_caller(ami)
    await eventually(lambda: len(app[KEEPER].mirror.queues["hotline"].callers) >= 2, timeout=15)
    await eventually(
        lambda: [n for n, s in sorted(acd.floor.seats.items()) if s.talking] == ["seat01", "seat03"], timeout=15
    )

    async with app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "crash-lead", "值班长", [Role.LEAD])
    metrics_token = ensure_secrets(app[SETTINGS])["metrics_token"]
    base = str(controller.make_url("/"))
    async with chromium() as browser, aiohttp.ClientSession() as http:
        page = await browser.new_page(viewport={"width": 1500, "height": 1000})
        await page.goto(base + "lead/seatmap")
        await sign_in(page, "crash-lead", password, "/lead/seatmap")
        await page.wait_for_selector("#seat-seat01[data-state]")
        assert not await page.locator("#pbx.down").count()
        assert (await _health(http, controller))[0] == 200

        before = pbx.supervisor_state()
        assert before is not None and before.restarts == 0
        victim = pbx.asterisk_pid()
        assert victim is not None
        os.kill(victim, signal.SIGKILL)

        # Down: health says so with the reason, the lead's page turns red.
        status, body = await eventually(lambda: _down(http, controller), timeout=10)
        assert status == 503 and body["pbx"]["up"] is False and body["status"] == "degraded"
        await page.wait_for_selector("#pbx.down", timeout=10_000)
        assert "电话系统中断" in await page.locator("#pbx").inner_text()

        # Back: a new Asterisk, the supervisor counted the crash and its cause.
        await eventually(lambda: _up(http, controller), timeout=60)
        after = pbx.supervisor_state()
        assert after is not None and after.restarts == 1 and after.last_exit == "killed by SIGKILL"
        assert pbx.asterisk_pid() not in (None, victim)

        # The calls the seats were on died with Asterisk: no seat is left
        # "talking"; the agents who were on them are in after-call work.
        await eventually(lambda: not any(s.talking or s.ringing for s in acd.floor.seats.values()), timeout=10)
        after_crash = {iface(1): (True, "话后处理"), iface(2): (True, "培训"), iface(3): (True, "话后处理")}
        assert current_intent() == after_crash
        assert {n: s.status().value for n, s in acd.floor.seats.items() if s.agent} == {
            "seat01": "wrapup",
            "seat02": "paused",
            "seat03": "wrapup",
        }
        # The controller re-applied its intent to the fresh Asterisk.
        fresh = AMIClient(settings.ami, event_filters=[])
        await fresh.start()
        try:
            await fresh.wait_connected(15)
            await eventually(lambda: matches_intent(fresh, after_crash), timeout=20)
        finally:
            await fresh.close()

        await page.wait_for_selector("#pbx.back", timeout=10_000)
        await page.wait_for_selector("#seat-seat01:not([data-state=talking])", timeout=10_000)
        text = await page.locator("#pbx").inner_text()
        assert "恢复" in text and "重新同步" in text
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "seatmap-pbx-back.png"), full_page=True)

        async with http.get(controller.make_url("/metrics"), headers={"Authorization": f"Bearer {metrics_token}"}) as r:
            metrics = await r.text()
        assert "hotline_pbx_up 1.0" in metrics and "hotline_pbx_restarts 1.0" in metrics
        assert "hotline_pbx_outages 1.0" in metrics


async def _down(http: aiohttp.ClientSession, server: TestServer) -> tuple[int, dict] | None:
    status, body = await _health(http, server)
    return (status, body) if status == 503 else None


async def _up(http: aiohttp.ClientSession, server: TestServer) -> bool:
    status, body = await _health(http, server)
    return status == 200 and body["pbx"]["up"] and body["pbx"]["outages"] == 1
