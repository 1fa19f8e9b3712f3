"""Registration attacks: an address that keeps failing SIP authentication is
refused at the PBX's SIP ACL, and an admin sees it and can lift the block.

The attacker is a real SIP phone (baresip) on its own loopback address,
127.0.0.9, so the block never touches the seats on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline import accounts
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import ensure_secrets, read_secrets
from hotline.pbx.api import GUARD
from hotline.pbx.guard_view import guard_view
from hotline.pbx.sipledger import acl_actions
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.helpers import eventually
from tests.integration.sip_phone import Baresip

pytestmark = pytest.mark.pbx

ATTACKER = "127.0.0.9"
SEAT_NET = "127.0.0.8"  # alert only (tests/hotline-test.toml sip_security.alert_only)


def phone(tmp: Path, settings: Settings, name: str, password: str, address: str, offset: int) -> Baresip:
    rtp = settings.pbx.rtp_end + 100 + offset
    return Baresip(
        tmp / name,
        user="seat02",
        password=password,
        pbx_port=settings.pbx.sip_port,
        listen_port=settings.pbx.sip_port + 40 + offset,
        address=address,
        rtp_ports=(rtp, rtp + 9),
    )


async def run_until(p: Baresip, *texts: str, timeout: float = 15) -> None:
    """Run the phone until its registration ends in one of `texts`."""
    p.start()
    try:
        await eventually(lambda: any(t in p.output() for t in texts), timeout=timeout)
    finally:
        p.stop()


async def test_five_wrong_passwords_block_the_address_and_an_admin_sees_and_lifts_it(
    controller: TestServer, settings: Settings, ami: AMIClient, tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    right = read_secrets(settings)["seat_passwords"]["seat02"]
    guard = controller.app[GUARD]
    async with controller.app[SESSIONS]() as db, db.begin():
        _, password = await accounts.create_user(db, "sec-admin", "管理员", [Role.ADMIN])
    try:
        # A scanner guessing seat02's password from 127.0.0.9.
        # Its retries are refused with 401 until the block lands, then 403.
        await run_until(
            phone(tmp_path, settings, "guess", "wrong-guess", ATTACKER, 0), "401 Unauthorized", "403 Forbidden"
        )
        await eventually(lambda: ATTACKER in guard.ledger.blocked, timeout=10)
        await eventually(lambda: guard.applied == (ATTACKER,), timeout=10)
        block = guard.ledger.blocked[ATTACKER]
        assert block.failures >= settings.sip_security.failures and block.accounts == ("seat02",)

        # Refused now, even with the right password; the seats' own address is not.
        await run_until(phone(tmp_path, settings, "blocked", right, ATTACKER, 10), "403 Forbidden")
        await run_until(phone(tmp_path, settings, "seat", right, "127.0.0.1", 20), "200 OK")

        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1300, "height": 900})
            await page.goto(str(controller.make_url("/admin/security")))
            await sign_in(page, "sec-admin", password, "/admin/security")
            row = page.locator(f"#blocked tr[data-address='{ATTACKER}']")
            await row.wait_for(timeout=10000)
            assert "seat02" in await row.inner_text()
            assert "密码错误" in await page.inner_text("#failures")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "admin-security.png"), full_page=True)
            await row.locator("button").click()
            await page.wait_for_selector(f"#blocked tr[data-address='{ATTACKER}']", state="detached", timeout=10000)
            assert "（sec-admin）" in await page.inner_text("#history")
        await eventually(lambda: guard.applied == (), timeout=10)
        token = ensure_secrets(controller.app[SETTINGS])["metrics_token"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(controller.make_url("/metrics"), headers={"Authorization": f"Bearer {token}"}) as resp,
        ):
            text = await resp.text()
        assert "hotline_sip_blocks 1.0" in text and "hotline_sip_blocked_addresses 0.0" in text
        await run_until(phone(tmp_path, settings, "lifted", right, ATTACKER, 30), "200 OK")
    finally:
        # Whatever happened, the session's PBX leaves this test with no block.
        await ami.action("UpdateConfig", **acl_actions([]))


def _forged_register(settings: Settings, source: str, user: str, n: int) -> None:
    """What anyone can send in another address's name over UDP: a REGISTER
    answering a challenge it never received (a made-up nonce, a dialog of
    its own)."""
    pbx = ("127.0.0.1", settings.pbx.sip_port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        port = s.getsockname()[1]
        for i in range(n):
            tag = secrets.token_hex(6)
            msg = "\r\n".join(
                [
                    f"REGISTER sip:{pbx[0]}:{pbx[1]} SIP/2.0",
                    f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{tag};rport",
                    "Max-Forwards: 70",
                    f"From: <sip:{user}@{pbx[0]}>;tag={tag}",
                    f"To: <sip:{user}@{pbx[0]}>",
                    f"Call-ID: {tag}@{source}",
                    f"CSeq: {i + 1} REGISTER",
                    f"Contact: <sip:{user}@{source}:{port}>",
                    f'Authorization: Digest username="{user}", realm="asterisk", '
                    f'nonce="{int(time.time())}/{secrets.token_hex(16)}", uri="sip:{pbx[0]}:{pbx[1]}", '
                    f'response="{secrets.token_hex(16)}", algorithm=MD5',
                    "Expires: 60",
                    "Content-Length: 0",
                    "",
                    "",
                ]
            )
            s.sendto(msg.encode(), pbx)


async def test_forged_failures_never_block_and_a_seat_network_is_only_alerted(
    controller: TestServer, settings: Settings, ami: AMIClient, tmp_path: Path
) -> None:
    """Before: InvalidAccountID needs no handshake, so forged UDP REGISTERs
    got any address blocked for an hour, seats' networks included."""
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    guard = controller.app[GUARD]
    limit = settings.sip_security.failures
    try:
        # Forged answers (and unknown accounts, which need no answer) in 127.0.0.9's name.
        _forged_register(settings, ATTACKER, "seat02", limit + 3)
        _forged_register(settings, ATTACKER, "nobody-here", limit + 3)
        await eventually(lambda: guard.unverified_total >= limit + 3, timeout=15)
        assert ATTACKER not in guard.ledger.blocked and guard.failures_total == 0
        # The same address failing for real (a phone that received the challenges) is blocked.
        await run_until(
            phone(tmp_path, settings, "guess", "wrong-guess", ATTACKER, 0), "401 Unauthorized", "403 Forbidden"
        )
        await eventually(lambda: ATTACKER in guard.ledger.blocked, timeout=10)
        # A seat network's address failing as often is an alert for the admin, never a block.
        await run_until(
            phone(tmp_path, settings, "seatnet", "wrong-guess", SEAT_NET, 10), "401 Unauthorized", "403 Forbidden"
        )
        alert = await eventually(lambda: next((a for a in guard.alerts if a.address == SEAT_NET), None), timeout=10)
        assert alert.failures >= limit and alert.accounts == ("seat02",) and SEAT_NET not in guard.ledger.blocked
        view = await guard_view(guard, dt.timezone.utc)
        assert view["alerts"][0]["address"] == SEAT_NET and view["unverified_total"] >= limit + 3
    finally:
        await ami.action("UpdateConfig", **acl_actions([]))
