"""kill -9 of the controller during a burst of ticket writes loses nothing acknowledged."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline import accounts
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.models import Ticket, WorkEvent, WorkItem
from hotline.pbx.process import Pbx
from hotline.roles import Role
from tests.conftest import TEST_CONFIG, make_settings
from tests.integration.helpers import eventually

pytestmark = pytest.mark.pbx

FORM = {"category": "market-consumer", "district": "南城区", "content": "预付卡商家跑路", "caller": "13500000000"}


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", "--config", str(TEST_CONFIG), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _own_controller(settings: Settings, tmp_path: Path) -> tuple[Settings, dict[str, str], str]:
    """Settings, environment and URL of a `hotline serve` of the test's own,
    with a database of its own, on the session's PBX."""
    own = make_settings(
        tmp_path, pbx={"rootfs": str(settings.pbx.rootfs), "instance_dir": str(settings.pbx.instance_dir)}
    )
    env = {
        **os.environ,
        "HOTLINE_STATE_DIR": str(own.state_dir),
        "HOTLINE_PBX__ROOTFS": str(own.pbx.rootfs),
        "HOTLINE_PBX__INSTANCE_DIR": str(own.pbx.instance_dir),
        "HOTLINE_AMI__SECRET": settings.ami.secret,
    }
    return own, env, f"http://{own.web.host}:{own.web.port}/"


async def _up(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "api/health") as resp:
            return resp.status in (200, 503)
    except aiohttp.ClientError:
        return False


async def test_kill_9_during_a_burst_keeps_every_acknowledged_ticket(
    pbx: Pbx, settings: Settings, tmp_path: Path
) -> None:
    own, env, url = _own_controller(settings, tmp_path)
    token = ensure_secrets(own)["gateway_tokens"]["sms"]
    log = tmp_path / "serve.log"
    proc = _serve(env, log)
    acknowledged: list[str] = []
    try:
        await eventually(lambda: _up(url), timeout=30, interval=0.2)
        stop = asyncio.Event()

        async def writer(http: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                try:
                    async with http.post(
                        url + "api/channels/tickets", json=FORM, headers={"Authorization": f"Bearer {token}"}
                    ) as resp:
                        if resp.status == 201:
                            acknowledged.append((await resp.json())["number"])
                except (TimeoutError, aiohttp.ClientError):
                    return  # the server died under us: this write was never acknowledged

        async with aiohttp.ClientSession() as http:
            writers = [asyncio.ensure_future(writer(http)) for _ in range(8)]
            await eventually(lambda: len(acknowledged) >= 60, timeout=60)
            proc.send_signal(signal.SIGKILL)  # mid-burst: writes are in flight
            await asyncio.to_thread(proc.wait, 10)
            stop.set()
            await asyncio.gather(*writers)
        assert proc.returncode == -signal.SIGKILL
        proc = _serve(env, log)
        await eventually(lambda: _up(url), timeout=30, interval=0.2)
        engine = make_engine(own)
        try:
            async with sessionmaker(engine)() as db:
                stored = set((await db.scalars(select(Ticket.number))).all())
        finally:
            await engine.dispose()
        assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)
        assert len(set(acknowledged)) == len(acknowledged) >= 60
    finally:
        if proc.poll() is None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 15)


class _Agent:
    """An agent of the controller under test: a web session of their own."""

    def __init__(self, url: str, username: str, password: str):
        self.url, self.username, self.password = url, username, password
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def call(self, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, dict]:
        # Every change is declared JSON, as the pages send it (an empty body too).
        async with self.http.request(method, self.url + path, json=(body or {}) if method != "GET" else None) as resp:
            return resp.status, await resp.json()

    async def login(self) -> None:
        status, body = await self.call("POST", "api/login", {"username": self.username, "password": self.password})
        assert status == 200, body


async def test_kill_9_with_work_items_in_flight_loses_none_and_offers_none_twice(
    pbx: Pbx, settings: Settings, tmp_path: Path
) -> None:
    own, env, url = _own_controller(settings, tmp_path)
    token = ensure_secrets(own)["gateway_tokens"]["app"]
    log = tmp_path / "serve.log"
    proc = _serve(env, log)
    engine = make_engine(own)
    people: list[_Agent] = []
    try:
        await eventually(lambda: _up(url), timeout=30, interval=0.2)
        async with sessionmaker(engine)() as db, db.begin():
            for name, role in (("lead1", Role.LEAD), ("a1", Role.AGENT), ("a2", Role.AGENT), ("a3", Role.AGENT)):
                _, password = await accounts.create_user(db, name, name, [role])
                people.append(_Agent(url, name, password))
        lead, a1, a2, a3 = people
        for p in people:
            await p.login()
        assert (await lead.call("PUT", "api/acd/lines", {"count": 1}))[0] == 200
        for i, agent in enumerate((a1, a2, a3), start=1):
            assert (await agent.call("POST", "api/agent/login", {"seat": f"seat{i:02d}", "ready": True}))[0] == 200
            await asyncio.sleep(0.05)
        numbers = []
        async with aiohttp.ClientSession() as http:
            for n in range(6):
                async with http.post(
                    url + "api/channels/tickets",
                    json={**FORM, "content": f"第{n}件：{FORM['content']}"},
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    assert resp.status == 201
                    numbers.append((await resp.json())["number"])

        async def holds(agent: _Agent) -> list[dict]:
            return (await agent.call("GET", "api/work"))[1]["items"]

        held2 = (await eventually(lambda: holds(a2), timeout=15))[0]
        await eventually(lambda: holds(a3), timeout=15)
        assert (await a2.call("POST", f"api/work/{held2['id']}/accept"))[0] == 200
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        proc = _serve(env, log)
        await eventually(lambda: _up(url), timeout=30, interval=0.2)
        # The lead's one line outlived the crash (`hotline serve` runs on the
        # real clock: by day the schedule would put all three on lines).
        lines = (await lead.call("GET", "api/acd/floor"))[1]["lines"]
        assert (lines["target"], lines["override"]) == (1, 1), lines
        # The accepted item is still a2's, and a2 can finish it.
        mine = await eventually(lambda: holds(a2), timeout=15)
        assert [(i["id"], i["state"]) for i in mine] == [(held2["id"], "accepted")]
        status, _ = await a2.call(
            "POST", f"api/tickets/{held2['ticket']}/submit", {**FORM, "handling": "answered", "answer": "已答复"}
        )
        assert status == 200
        await eventually(lambda: holds(a3), timeout=15)
        async with sessionmaker(engine)() as db:
            items = (await db.scalars(select(WorkItem).where(WorkItem.kind == "intake"))).all()
            events = (await db.scalars(select(WorkEvent).order_by(WorkEvent.id))).all()
        # None lost: every ticket still has its item, open unless answered.
        assert sorted(i.ref for i in items) == sorted(numbers)
        assert [i.ref for i in items if i.state == "done"] == [held2["ticket"]]
        # None offered twice: between two offers of an item, the first one ended.
        for item in items:
            seq = [e.action for e in events if e.item_id == item.id]
            holding = False
            for action in seq:
                if action == "offered":
                    assert not holding, (item.id, seq)
                    holding = True
                elif action in ("lapsed", "withdrawn", "handed-back", "parked", "done", "retry"):
                    holding = False
        held_now = [i for i in items if i.state in ("offered", "accepted")]
        assert len({i.agent for i in held_now}) == len(held_now)  # one item per agent (work.per_agent)
    finally:
        for p in people:
            await p.http.close()
        await engine.dispose()
        if proc.poll() is None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 15)
