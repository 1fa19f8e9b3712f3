"""Real SIP end to end: baresip registers as seat01 and answers a call that a
second baresip places to 12345; the call becomes a ticket on that agent's desk."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import read_secrets
from hotline.roles import Role
from tests.integration.desk import Desk
from tests.integration.helpers import eventually
from tests.integration.ivr_helpers import Api
from tests.integration.sip_phone import Baresip

pytestmark = pytest.mark.pbx


async def test_baresip_seat_answers_a_baresip_caller_and_the_ticket_appears(
    phones_controller: TestServer, ami: AMIClient, settings: Settings, tmp_path: Path
) -> None:
    if not Baresip.available():
        pytest.fail("baresip is not installed (scripts/bootstrap installs baresip-core)")
    passwords = read_secrets(settings)["seat_passwords"]
    sip, rtp = settings.pbx.sip_port, settings.pbx.rtp_end + 1
    seat = Baresip(
        tmp_path / "seat01",
        user="seat01",
        password=passwords["seat01"],
        pbx_port=sip,
        listen_port=sip + 10,
        rtp_ports=(rtp, rtp + 19),
        answer=True,
    )
    # The caller is another phone of the PBX (seat26 dials 12345 like a citizen's line).
    caller = Baresip(
        tmp_path / "caller",
        user="seat26",
        password=passwords["seat26"],
        pbx_port=sip,
        listen_port=sip + 20,
        rtp_ports=(rtp + 20, rtp + 39),
    )
    desk = Desk(phones_controller, "seat01")
    lead = await Api(phones_controller).login_as(Role.LEAD)
    try:
        seat.start()
        await eventually(lambda: _registered(ami, "seat01"), timeout=15)
        await desk.start()
        caller.start(dial="12345")
        # No key pressed: the menu times out to a seat (the default flow's one-key rule).
        pop = await desk.pop(timeout=90)
        ticket = pop["ticket"]
        assert ticket["caller"] == "seat26" and ticket["seat"] == "seat01"
        assert [s["node"] for s in ticket["ivr_path"]][-2:] == ["day_menu", "waited"]
        _, listed = await lead.request("GET", "/api/tickets", params={"caller": "seat26"})
        assert [t["number"] for t in listed["tickets"]] == [ticket["number"]]
        path = settings.recordings_dir / f"{ticket['call_id']}.wav"
        await eventually(lambda: path.is_file() and path.stat().st_size > 8000, timeout=15)
        assert "Call established: sip:seat26@" in seat.output()  # the phone itself answered
    finally:
        caller.stop()
        seat.stop()
        await desk.close()
        await lead.close()


async def _registered(ami: AMIClient, endpoint: str) -> bool:
    out = await ami.command(f"pjsip show aor {endpoint}")
    return f"{endpoint}/sip:" in out
