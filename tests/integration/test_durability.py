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

from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.models import Ticket
from hotline.pbx.process import Pbx
from tests.conftest import TEST_CONFIG, make_settings
from tests.integration.helpers import eventually

pytestmark = pytest.mark.pbx

FORM = {"category": "market-consumer", "district": "南城区", "content": "预付卡商家跑路", "caller": "13500000000"}


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hotline", "--config", str(TEST_CONFIG), "serve"], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def _up(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "api/health") as resp:
            return resp.status in (200, 503)
    except aiohttp.ClientError:
        return False


async def test_kill_9_during_a_burst_keeps_every_acknowledged_ticket(
        pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    own = make_settings(tmp_path, pbx={"rootfs": str(settings.pbx.rootfs),
                                       "instance_dir": str(settings.pbx.instance_dir)})
    token = ensure_secrets(own)["gateway_tokens"]["sms"]
    env = {**os.environ, "HOTLINE_STATE_DIR": str(own.state_dir), "HOTLINE_PBX__ROOTFS": str(own.pbx.rootfs),
           "HOTLINE_PBX__INSTANCE_DIR": str(own.pbx.instance_dir), "HOTLINE_AMI__SECRET": settings.ami.secret}
    url = f"http://{own.web.host}:{own.web.port}/"
    log = tmp_path / "serve.log"
    proc = _serve(env, log)
    acknowledged: list[str] = []
    try:
        await eventually(lambda: _up(url), timeout=30, interval=0.2)
        stop = asyncio.Event()

        async def writer(http: aiohttp.ClientSession) -> None:
            while not stop.is_set():
                try:
                    async with http.post(url + "api/channels/tickets", json=FORM,
                                         headers={"Authorization": f"Bearer {token}"}) as resp:
                        if resp.status == 201:
                            acknowledged.append((await resp.json())["number"])
                except (aiohttp.ClientError, asyncio.TimeoutError):
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
