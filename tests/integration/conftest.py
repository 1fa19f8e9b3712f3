"""One bundled Asterisk for the whole session; state reset between tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIError
from hotline.config import Settings
from hotline.credentials import ensure_secrets, write_secrets
from hotline.db.migrate import upgrade
from hotline.ivr.engine import FLOW_FILE
from hotline.pbx.install import install
from hotline.pbx.paths import Paths
from hotline.pbx.process import Pbx
from hotline.server import KEEPER, create_app
from tests.conftest import Clock, make_settings
from tests.integration.helpers import Recorder, eventually

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Wednesday morning: day menu, lawyer hours.
WEEKDAY_MORNING = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.pbx


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("hotline"))


@pytest.fixture(scope="session")
def pbx(settings: Settings) -> Iterator[Pbx]:
    install(settings, say=lambda line: None)  # cached after the first run
    pbx = Pbx(settings)
    pbx.start()
    yield pbx
    pbx.stop()


async def connected_client(settings: Settings, **kwargs: object) -> AMIClient:
    # Tests watch every event (AGIExecStart tells which prompt a caller hears).
    kwargs.setdefault("event_filters", [])
    client = AMIClient(settings.ami, **kwargs)  # type: ignore[arg-type]
    await client.start()
    await client.wait_connected(15)
    return client


@pytest.fixture
async def ami(pbx: Pbx, settings: Settings) -> AsyncIterator[AMIClient]:
    client = await connected_client(settings)
    yield client
    await client.close()


@pytest.fixture
def recorder(ami: AMIClient) -> Recorder:
    return Recorder(ami)


async def reset_pbx(settings: Settings) -> None:
    """Hang up every call and drop dynamic queue members, without a restart."""
    client = await connected_client(settings, name="reset")
    try:
        await client.action("Setvar", Variable="SIM_RING", Value="1")
        await client.action("Setvar", Variable="SIM_TALK", Value="3600")
        await client.action("Setvar", Variable="SIM_SAY", Value="")
        await client.action("Setvar", Variable="SIM_PSTN_REFUSE", Value="")
        # The flows a test's controller wrote into the dialplan (ivr.engine):
        # the next test starts from the static dialplan, as a fresh install.
        flows = Paths(settings.pbx.instance_dir).etc / FLOW_FILE
        if flows.is_file() and flows.stat().st_size:
            flows.write_text("")
            await client.command("dialplan reload")
        status = await client.list_action("QueueStatus")
        for e in status.events:
            if type(e).__name__ == "QueueMember" and e.membership == "dynamic":
                try:
                    await client.action("QueueRemove", Queue=e.queue, Interface=e.interface)  # type: ignore[attr-defined]
                except AMIError:
                    pass
        for _ in range(50):
            chans = await client.list_action("CoreShowChannels")
            if not chans.events:
                return
            for c in chans.events:
                try:
                    await client.action("Hangup", Channel=c.channel)  # type: ignore[attr-defined]
                except AMIError:
                    pass  # already gone
            await asyncio.sleep(0.1)
        raise AssertionError("channels survived the reset")
    finally:
        await client.close()


@pytest.fixture(autouse=True)
async def clean_pbx(pbx: Pbx, settings: Settings) -> AsyncIterator[None]:
    yield
    if pbx.supervisor_pid() is None:  # a test stopped it: bring it back
        await asyncio.to_thread(pbx.start)
    await reset_pbx(settings)
    keep_rotations(pbx, settings)


@pytest.fixture
def clock() -> Clock:
    return Clock(WEEKDAY_MORNING)


@pytest.fixture(scope="session")
def migrated(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at the newest schema, made once: each test's controller
    starts from a copy of it (the migrations cost 0.7 s a controller)."""
    own = settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("migrated")})
    upgrade(own)
    db = own.state_dir / "hotline.db"
    assert not db.with_name("hotline.db-wal").exists()  # all of it in the one file
    return db


def fresh_database(migrated: Path, own: Settings) -> None:
    """Own's database, at the newest schema and empty (as its first start would leave it)."""
    own.state_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated, own.state_dir / "hotline.db")


@pytest.fixture
async def controller(
    pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path, migrated: Path
) -> AsyncIterator[TestServer]:
    """The whole controller (AMI, FastAGI, IVR, web) on the configured ports,
    with a database of its own; the PBX and the prompt cache are shared."""
    async with running_controller(settings, clock, tmp_path, migrated) as server:
        yield server


@pytest.fixture
async def phones_controller(
    pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path, migrated: Path
) -> AsyncIterator[TestServer]:
    """The controller with seats as SIP phones, as deployed: the queue rings
    Local/seatNN@hotline-seat (the desk phone and the browser phone)."""
    seats = settings.seats.model_copy(update={"phones": "pjsip"})
    async with running_controller(settings, clock, tmp_path, migrated, seats=seats) as server:
        yield server


@pytest.fixture
async def fastagi_controller(
    pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path, migrated: Path
) -> AsyncIterator[TestServer]:
    """The controller running every IVR step over FastAGI (ivr.engine =
    fastagi), as it does at every node the dialplan hands over."""
    ivr = settings.ivr.model_copy(update={"engine": "fastagi"})
    async with running_controller(settings, clock, tmp_path, migrated, ivr=ivr) as server:
        yield server


@asynccontextmanager
async def running_controller(
    settings: Settings, clock: Clock, tmp_path: Path, migrated: Path, *, restart: bool = False, **changes: Any
) -> AsyncIterator[TestServer]:
    """A test's controller with `changes` to the session's settings (a
    section turned on, the seats as SIP phones), synced with the PBX;
    `restart`: with the database an earlier one in tmp_path left."""
    own = settings.model_copy(update={"state_dir": tmp_path / "state", **changes})
    adopt_secrets(settings, own)
    if not restart:
        fresh_database(migrated, own)
    server = TestServer(create_app(own, clock=clock), host=settings.web.host, port=settings.web.port)
    await server.start_server()
    try:
        await eventually(lambda: server.app[KEEPER].mirror.synced, timeout=15)
        yield server
    finally:
        await server.close()


def adopt_secrets(settings: Settings, own: Settings) -> None:
    """The shared PBX knows the session's seat passwords: a test's controller
    starts from them."""
    write_secrets(own, ensure_secrets(settings))


def keep_rotations(pbx: Pbx, settings: Settings) -> None:
    """A test's controller rotates a seat's password when its agent leaves:
    the session takes the PBX's passwords as they now are, so a later test's
    phone registers with what works."""
    try:
        text = (pbx.paths.etc / "pjsip_hotline_seat_auth.conf").read_text()
    except FileNotFoundError:
        return
    in_pbx = dict(re.findall(r"^\[(\w+)\]\n(?:.*\n)*?password\s*=\s*(\S+)", text, re.M))
    session = ensure_secrets(settings)
    if in_pbx and in_pbx != session["seat_passwords"]:
        write_secrets(settings, session | {"seat_passwords": session["seat_passwords"] | in_pbx})
