"""An agent gets their own seat's softphone settings, and a one-time link a
softphone (Linphone) fetches its configuration from; never another seat's."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.config import Settings
from hotline.credentials import read_secrets
from hotline.roles import Role
from hotline.web.keys import SETTINGS
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def test_an_agent_provisions_the_softphone_of_their_own_seat_only(
        controller: TestServer, settings: Settings) -> None:
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
            async with softphone.get(link) as resp:
                assert resp.status == 404  # used once
        status, _ = await other.request("POST", "/api/agent/phone")
        assert status == 409  # another agent, at no seat, gets nothing
    finally:
        await agent.close()
        await other.close()
