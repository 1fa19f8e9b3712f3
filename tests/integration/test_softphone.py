"""An agent gets their own seat's softphone settings, and a one-time link a
softphone (Linphone) fetches its configuration from; never another seat's,
and what they were given stops working once they leave the seat."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import read_secrets
from hotline.roles import Role
from hotline.seats.api import CREDENTIALS
from hotline.web.keys import SETTINGS
from tests.integration.helpers import eventually
from tests.integration.ivr_helpers import Api
from tests.integration.sip_phone import Baresip

pytestmark = pytest.mark.pbx


async def test_an_agent_provisions_the_softphone_of_their_own_seat_only(
    controller: TestServer, settings: Settings
) -> None:
    # The controller's own state folder (each test's controller has one).
    passwords = read_secrets(controller.app[SETTINGS])["seat_passwords"]
    agent = await Api(controller).login_as(Role.AGENT, "phone-agent")
    other = await Api(controller).login_as(Role.AGENT, "phone-other")
    try:
        status, body = await agent.request("POST", "/api/agent/phone")
        assert status == 409 and body["error_id"] == "agent-not-logged-in"  # no seat yet, no password
        assert (await agent.request("POST", "/api/agent/login", json={"seat": "seat03"}))[0] == 200
        status, phone = await agent.request("POST", "/api/agent/phone")
        assert status == 200
        assert (phone["seat"], phone["user"], phone["password"]) == ("seat03", "seat03", passwords["seat03"])
        assert phone["transport"] == "tls" and phone["port"] == settings.pbx.sip_tls_port
        link = phone["provisioning_url"]
        async with aiohttp.ClientSession() as softphone:  # no cookie: the link is the credential
            async with softphone.get(link) as resp:
                xml = await resp.text()
                assert resp.status == 200 and resp.content_type == "application/xml"
            assert f">{passwords['seat03']}<" in xml and "seat04" not in xml
            assert '<entry name="verify_server_certs" overwrite="true">1</entry>' in xml
            async with softphone.get(link) as resp:
                assert resp.status == 404  # used once
        status, _ = await other.request("POST", "/api/agent/phone")
        assert status == 409  # another agent, at no seat, gets nothing
    finally:
        await agent.close()
        await other.close()


async def _registered(ami: AMIClient, seat: str) -> bool:
    return f"{seat}/sip:" in await ami.command(f"pjsip show aor {seat}")


def _phone(settings: Settings, folder: Path, seat: str, password: str, n: int) -> Baresip:
    sip, rtp = settings.pbx.sip_port, settings.pbx.rtp_end + 1 + 20 * n
    # baresip takes its SIP port and the next (TLS).
    return Baresip(
        folder, user=seat, password=password, pbx_port=sip, listen_port=sip + 30 + 3 * n, rtp_ports=(rtp, rtp + 19)
    )


async def test_a_seat_password_stops_registering_once_its_agent_leaves_the_seat(
    controller: TestServer, ami: AMIClient, settings: Settings, tmp_path: Path
) -> None:
    """Before: logging in at each free seat collected every seat's password
    for good; a phone registered with one displaced the seat's real phone."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    agent = await Api(controller).login_as(Role.AGENT, "seat-hopper")
    nxt = await Api(controller).login_as(Role.AGENT, "next-at-seat05")
    phones: list[Baresip] = []
    try:
        assert (await agent.request("POST", "/api/agent/login", json={"seat": "seat05"}))[0] == 200
        _, learned = await agent.request("POST", "/api/agent/phone")
        _, unused = await agent.request("POST", "/api/agent/phone")  # a second link, never fetched
        # While at the seat, the password registers a real phone.
        first = _phone(settings, tmp_path / "first", "seat05", learned["password"], 0)
        phones.append(first)
        first.start()
        await eventually(lambda: _registered(ami, "seat05"), timeout=15)
        first.stop()
        await eventually(lambda: _not(_registered(ami, "seat05")), timeout=15)  # it unregistered on stop
        # The agent leaves: the seat's password changes in the PBX.
        assert (await agent.request("POST", "/api/agent/logout"))[0] == 200
        creds = controller.app[CREDENTIALS]
        await eventually(lambda: creds.rotations == 1 and not creds._pending, timeout=15)
        # The link issued at the seat died with the agent's leaving.
        async with aiohttp.ClientSession() as softphone:
            async with softphone.get(unused["provisioning_url"]) as resp:
                assert resp.status == 404
        # The next agent at seat05 gets another password, and it registers...
        assert (await nxt.request("POST", "/api/agent/login", json={"seat": "seat05"}))[0] == 200
        _, fresh = await nxt.request("POST", "/api/agent/phone")
        assert fresh["password"] != learned["password"]
        rightful = _phone(settings, tmp_path / "rightful", "seat05", fresh["password"], 1)
        phones.append(rightful)
        rightful.start()
        await eventually(lambda: _registered(ami, "seat05"), timeout=15)
        # ...while what the first agent learned is refused and displaces nobody.
        stale = _phone(settings, tmp_path / "stale", "seat05", learned["password"], 2)
        phones.append(stale)
        stale.start()
        await eventually(lambda: "401 Unauthorized" in stale.output() or "403 Forbidden" in stale.output(), timeout=15)
        contacts = await ami.command("pjsip show aor seat05")
        assert f":{settings.pbx.sip_port + 33}" in contacts and f":{settings.pbx.sip_port + 36}" not in contacts
    finally:
        for p in phones:
            p.stop()
        await agent.close()
        await nxt.close()


async def _not(check: Any) -> bool:
    return not await check


async def test_a_monitoring_phone_registers_with_its_own_password_and_is_never_a_queue_member(
    controller: TestServer, ami: AMIClient, settings: Settings, tmp_path: Path
) -> None:
    """The lead's monitoring phone (监听话机) is a PJSIP endpoint of its own:
    `hotline seat phone monitor01` gives what registers it; a seat's
    password does not; it is a member of no queue."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    from hotline.seats.phone import phone_details

    own = controller.app[SETTINGS]
    details = phone_details(own, "monitor01")
    assert details.user == "monitor01" and details.password != phone_details(own, "seat01").password
    wrong = _phone(settings, tmp_path / "wrong", "monitor01", phone_details(own, "seat01").password, 3)
    right = _phone(settings, tmp_path / "right", "monitor01", details.password, 4)
    try:
        wrong.start()
        await asyncio.sleep(3)
        assert not await _registered(ami, "monitor01")
        wrong.stop()
        right.start()
        await eventually(lambda: _registered(ami, "monitor01"), timeout=15)
        status = await ami.list_action("QueueStatus")
        assert not [e for e in status.events if "monitor" in str(getattr(e, "interface", ""))]
    finally:
        for p in (wrong, right):
            p.stop()
