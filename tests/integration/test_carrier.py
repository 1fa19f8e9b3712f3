"""Carrier trunks end to end: two more bundled Asterisks play the carrier's
two points of presence (A: the hotline registers to it; B: known by address
only), on their own loopback addresses. The hotline's PBX is the session's,
reconfigured with the trunks by `Pbx.reload()` (what `hotline pbx reload`
does) and put back afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import ensure_secrets, read_secrets, write_secrets
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.server import KEEPER, TRUNKS, create_app
from hotline.web.keys import SESSIONS, SETTINGS
from tests.conftest import ROOT, TEST_CONFIG
from tests.integration.carrier import Carrier, make_carrier
from tests.integration.conftest import Clock, connected_client
from tests.integration.desk import Desk
from tests.integration.helpers import Recorder, eventually
from tests.integration.sip_phone import Baresip

pytestmark = pytest.mark.pbx

PASSWORD_A = "trunk-A-secret-1"


@pytest.fixture(scope="module")
def carriers(pbx: Pbx, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Carrier]]:
    a = make_carrier(
        tmp_path_factory.mktemp("carrier-a"),
        settings,
        name="a",
        address="127.0.0.2",
        offset=10,
        mode="register",
        password=PASSWORD_A,
    )
    b = make_carrier(
        tmp_path_factory.mktemp("carrier-b"), settings, name="b", address="127.0.0.3", offset=20, mode="address"
    )
    a.start()
    b.start()
    yield {"a": a, "b": b}
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def trunked(pbx: Pbx, settings: Settings, carriers: dict[str, Carrier]) -> Iterator[Settings]:
    """The session's settings with both trunks; the PBX reloaded with them."""
    a, b = carriers["a"], carriers["b"]
    trunks = [
        # The password is where an operator keeps it: the secrets file.
        {
            "name": "carrier-a",
            "host": a.address,
            "port": a.settings.pbx.sip_port,
            "registration": True,
            "username": a.account,
            "qualify_seconds": 2,
        },
        {
            "name": "carrier-b",
            "host": b.address,
            "port": b.settings.pbx.sip_port,
            "match": [b.address],
            "qualify_seconds": 2,
            "numbers": {"+8612345": "12345", "12345": "12345"},
        },
    ]
    secrets = read_secrets(settings)
    secrets["trunk_passwords"] = {"carrier-a": PASSWORD_A}
    write_secrets(settings, secrets)
    with_trunks = Settings.model_validate(settings.model_dump() | {"trunks": trunks})
    Pbx(with_trunks).reload()
    yield with_trunks
    Pbx(settings).reload()


async def _trunks_up(ami: AMIClient) -> bool:
    regs = await ami.command("pjsip show registrations")
    contacts = await ami.command("pjsip show contacts")
    return (
        "Registered" in regs
        and "carrier-a/sip:" in contacts
        and "carrier-b/sip:" in contacts
        and contacts.count("Avail ") >= 2
    )


def _controller(settings: Settings, clock: Clock, tmp_path: Path, phones: str) -> TestServer:
    own = settings.model_copy(
        update={"state_dir": tmp_path / "state", "seats": settings.seats.model_copy(update={"phones": phones})}
    )
    return TestServer(create_app(own, clock=clock), host=settings.web.host, port=settings.web.port)


async def _running(server: TestServer, ami: AMIClient) -> TestServer:
    await server.start_server()
    await eventually(lambda: server.app[KEEPER].mirror.synced, timeout=15)
    await eventually(lambda: _trunks_up(ami), timeout=30)
    await eventually(lambda: server.app[TRUNKS].any_up, timeout=15)
    return server


@pytest.fixture
async def sip_seats(trunked: Settings, clock: Clock, tmp_path: Path, ami: AMIClient) -> AsyncIterator[TestServer]:
    """The controller with SIP softphones as seats, trunks configured."""
    server = await _running(_controller(trunked, clock, tmp_path, "pjsip"), ami)
    yield server
    await server.close()


@pytest.fixture
async def sim_seats(trunked: Settings, clock: Clock, tmp_path: Path, ami: AMIClient) -> AsyncIterator[TestServer]:
    """The controller with simulated seats (they answer by themselves)."""
    server = await _running(_controller(trunked, clock, tmp_path, "simulated"), ami)
    yield server
    await server.close()


async def carrier_client(carrier: Carrier) -> AMIClient:
    return await connected_client(carrier.settings, name=f"carrier-{carrier.name}")


async def citizen_calls(carrier: Carrier, number: str, caller: str) -> None:
    """A citizen on the carrier's network dials `number`."""
    client = await carrier_client(carrier)
    try:
        await client.action(
            "Originate",
            Channel=f"PJSIP/{number}@{carrier.account}",
            Context="carrier-caller",
            Exten="s",
            Priority=1,
            CallerID=f"<{caller}>",
            Async="true",
        )
    finally:
        await client.close()


def seat_phone_cli(settings: Settings, seat: str) -> dict[str, object]:
    """`hotline seat phone SEAT --json`, run as a person at the desk would."""
    env = dict(
        os.environ,
        HOTLINE_CONFIG=str(TEST_CONFIG),
        HOTLINE_STATE_DIR=str(settings.state_dir),
        HOTLINE_PBX__INSTANCE_DIR=str(settings.pbx.instance_dir),
        HOTLINE_PBX__ROOTFS=str(settings.pbx.rootfs),
    )
    out = subprocess.run(
        [sys.executable, "-m", "hotline", "seat", "phone", seat, "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


async def test_carrier_call_reaches_a_tls_softphone_seat_and_the_ticket_shows_the_callers_number(
    sip_seats: TestServer, carriers: dict[str, Carrier], trunked: Settings, ami: AMIClient, tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    phone = seat_phone_cli(trunked, "seat01")
    assert phone["transport"] == "tls" and phone["port"] == trunked.pbx.sip_tls_port and phone["srtp"] is True
    rtp = trunked.pbx.rtp_end + 1
    seat = Baresip(
        tmp_path / "seat01",
        user=str(phone["user"]),
        password=str(phone["password"]),
        pbx_port=int(phone["port"]),
        server=str(phone["server"]),
        transport="tls",
        srtp=True,
        listen_port=trunked.pbx.sip_port + 30,
        rtp_ports=(rtp, rtp + 19),
        answer=True,
    )
    desk = Desk(sip_seats, "seat01")
    carrier_a = await carrier_client(carriers["a"])
    seen = Recorder(carrier_a)
    try:
        seat.start()
        await eventually(lambda: _registered_over_tls(ami, "seat01"), timeout=15)
        await desk.start()
        # From shows the carrier's gateway; the caller's number is in P-Asserted-Identity.
        await citizen_calls(carriers["a"], "12345", "13800138000")
        pop = await desk.pop(timeout=90)
        assert pop["ticket"]["caller"] == "13800138000" and pop["ticket"]["seat"] == "seat01"
        chans = await ami.command("core show channels concise")
        seat_chan = next(line.split("!")[0] for line in chans.splitlines() if line.startswith("PJSIP/seat01-"))
        trunk_chan = next(line.split("!")[0] for line in chans.splitlines() if line.startswith("PJSIP/carrier-a-"))
        assert (await ami.action("Getvar", Channel=seat_chan, Variable="CHANNEL(pjsip,secure)")).get("Value") == "1"
        assert (await ami.action("Getvar", Channel=trunk_chan, Variable="CHANNEL(audionativeformat)")).get(
            "Value"
        ) == "(alaw)"
        await eventually(lambda: "SRTP is Enabled" in seat.output(), timeout=10)

        # The agent transfers the caller to 110: it leaves through the trunk as 12345.
        status, body = await desk.call("POST", "/api/desk/call/transfer", json={"number": "110"})
        assert status == 200, body
        got = await seen.wait_for(
            ev.UserEvent, lambda e: e.user_event == "CarrierGot" and e.raw.get("Number") == "110", timeout=20
        )
        assert got.raw.get("CallerID") == "12345"
    finally:
        seat.stop()
        await desk.close()
        await carrier_a.close()


async def _registered_over_tls(ami: AMIClient, endpoint: str) -> bool:
    out = await ami.command(f"pjsip show aor {endpoint}")
    return f"{endpoint}/sip:" in out and ";transport=tls" in out.lower()


async def test_identified_by_address_and_a_missed_caller_is_called_back_through_the_trunk(
    sim_seats: TestServer, carriers: dict[str, Carrier], ami: AMIClient, recorder: Recorder
) -> None:
    acd = sim_seats.app[ACD]
    await acd.login("seat01", "agent01", "坐席员1")
    carrier_a = await carrier_client(carriers["a"])
    seen = Recorder(carrier_a)
    try:
        # Carrier B (no registration) delivers +8612345 with a +86 caller: the
        # hotline knows it by address, maps the number and drops the country code.
        await citizen_calls(carriers["b"], "+8612345", "+8613900139001")
        talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13900139001", timeout=60)
        await citizen_calls(carriers["b"], "+8612345", "+8613900139002")
        join = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == "13900139002", timeout=60)
        assert join.channel.startswith("PJSIP/carrier-b-")
        await asyncio.sleep(6)  # longer than callback_abandon_seconds: a missed call worth calling back
        await ami.action("Hangup", Channel=join.channel)
        await recorder.wait_for(ev.QueueCallerAbandon)
        await ami.action("Hangup", Channel=talk.channel)
        await eventually(lambda: acd.floor.seats["seat01"].status().value == "wrapup")
        acd.end_wrapup("seat01", "agent01")
        # The callback goes out the first trunk that is up (A), shown as 12345.
        got = await seen.wait_for(
            ev.UserEvent, lambda e: e.user_event == "CarrierGot" and e.raw.get("Number") == "13900139002", timeout=30
        )
        assert got.raw.get("CallerID") == "12345"
    finally:
        await carrier_a.close()


async def test_a_number_outside_the_dial_plan_never_reaches_the_carrier(
    sim_seats: TestServer, carriers: dict[str, Carrier], ami: AMIClient, recorder: Recorder
) -> None:
    carrier_a = await carrier_client(carriers["a"])
    seen = Recorder(carrier_a)
    try:
        # International (00...) is not in outbound.allowed; 12348 is.
        for number in ("0044201234567", "12348"):
            await ami.action(
                "Originate",
                Channel=f"Local/{number}@hotline-outside",
                Application="Wait",
                Data="30",
                CallerID="<999>",
                Async="true",
            )
        await seen.wait_for(ev.UserEvent, lambda e: e.raw.get("Number") == "12348", timeout=20)
        assert not seen.of(ev.UserEvent, lambda e: e.raw.get("Number") == "0044201234567")
    finally:
        await carrier_a.close()


async def test_first_trunk_down_the_second_carries_the_call_and_the_lead_sees_it(
    sim_seats: TestServer, carriers: dict[str, Carrier], ami: AMIClient, tmp_path: Path
) -> None:
    from tests.integration.browser import SHOTS, chromium, sign_in

    async with sim_seats.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "trunk-lead", "值班长", [Role.LEAD])
    metrics_token = ensure_secrets(sim_seats.app[SETTINGS])["metrics_token"]
    carrier_b = await carrier_client(carriers["b"])
    seen_b = Recorder(carrier_b)
    a = carriers["a"]
    try:
        async with chromium() as browser, aiohttp.ClientSession() as http:
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto(str(sim_seats.make_url("/lead/seatmap")))
            await sign_in(page, "trunk-lead", password, "/lead/seatmap")
            await page.wait_for_selector("#trunks [data-trunk=carrier-a].up", timeout=15000)
            await asyncio.to_thread(a.stop)  # the carrier's first point of presence goes dark
            await page.wait_for_selector("#trunks [data-trunk=carrier-a].down", timeout=30000)
            text = await page.inner_text("#trunks [data-trunk=carrier-a]")
            assert "中断" in text and "运营商无应答" in text
            assert "正常" in await page.inner_text("#trunks [data-trunk=carrier-b]")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "seatmap-trunk-down.png"), full_page=True)
            async with http.get(sim_seats.make_url("/api/health")) as resp:
                health = await resp.json()
            async with http.get(
                sim_seats.make_url("/metrics"), headers={"Authorization": f"Bearer {metrics_token}"}
            ) as resp:
                metrics = await resp.text()
        states = {t["name"]: t for t in health["trunks"]}
        assert states["carrier-a"]["up"] is False and states["carrier-b"]["up"] is True
        assert health["status"] == "ok"  # one trunk still carries calls
        assert 'hotline_trunk_up{trunk="carrier-a"} 0.0' in metrics
        assert 'hotline_trunk_up{trunk="carrier-b"} 1.0' in metrics

        await ami.action(
            "Originate",
            Channel="Local/13600000009@hotline-outside",
            Application="Wait",
            Data="30",
            CallerID="<999>",
            Async="true",
        )
        got = await seen_b.wait_for(
            ev.UserEvent, lambda e: e.user_event == "CarrierGot" and e.raw.get("Number") == "13600000009", timeout=20
        )
        assert got.raw.get("CallerID") == "12345"
    finally:
        await carrier_b.close()
        await asyncio.to_thread(a.start)  # for whatever runs next
