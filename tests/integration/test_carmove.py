"""Car moving (挪车) end to end against the real PBX, with simulated PSTN
legs: an owner registers a plate with a code from the SMS gateway; a caller
presses 2 and the agent asks for the car to be moved; the owner's phone
shows X, hears the message (measured) and presses 1, which bridges the two;
within the binding's life either calling X reaches the other; after it the
caller hears that it has ended; neither ever sees the other's number; the
monthly limit and the blacklist refuse."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.db.models import CarmoveBinding, CarmoveEvent, Vehicle
from hotline.roles import Role
from hotline.sim import call_in
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.audio import rms, rms_between, seconds, stamp_plus
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import Clock
from tests.integration.desk import Desk
from tests.integration.floor import queue_caller
from tests.integration.gateway_sim import GatewaySim
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api
from tests.integration.test_ivr import choose
from tests.integration.test_work import close_all, sim

pytestmark = pytest.mark.pbx

OWNER = "13700000301"
PLATE = "京A12345"


async def talk(ami: AMIClient, recorder: Recorder, channel: str) -> ev.Newexten:
    """The party at this end of a call starts speaking (the speech sample on a loop)."""
    await ami.action("Redirect", Channel=channel, Context="sim-speaker", Exten="s", Priority="1")
    return await recorder.wait_for(ev.Newexten, lambda e: e.channel == channel and e.context == "sim-speaker")


async def hush(ami: AMIClient, recorder: Recorder, channel: str) -> ev.Newexten:
    await ami.action("Redirect", Channel=channel, Context="sim-caller", Exten="s", Priority="1")
    return await recorder.wait_for(ev.Newexten, lambda e: e.channel == channel and e.context == "sim-caller")


async def register(api: Api, sms: GatewaySim, plate: str, phone: str, path: str = "/api/public/vehicles") -> None:
    status, reg = await api.request("POST", path, json={"plate": plate, "phone": phone})
    assert status == 201, reg
    code = await sms_code(sms, plate, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    status, err = await api.request("POST", path + "/verify", json={"registration": reg["registration"], "code": wrong})
    assert (status, err["error_id"]) == (400, "carmove-code-refused") and err["details"]["attempts_left"] == 4
    status, ok = await api.request("POST", path + "/verify", json={"registration": reg["registration"], "code": code})
    assert status == 200 and ok == {"plate": plate, "phone": "137****0301", "verified": True}


async def sms_code(sms: GatewaySim, plate: str, phone: str, consent: bool = False) -> str:
    """The code a phone was sent: its own registration's, or (consent) the
    one asking the current owner to agree to a change."""
    text = (
        await eventually(
            lambda: [
                m["text"]
                for m in sms.messages.values()
                if m["citizen"] == phone and plate in m["text"] and ("如您同意" in m["text"]) == consent
            ],
            timeout=15,
        )
    )[-1]
    return re.search(r"验证码 ([0-9]{6})", text).group(1)  # type: ignore[union-attr]


async def owner_of(server: TestServer, plate: str) -> str:
    async with server.app[SESSIONS]() as db:
        return (await db.scalars(select(Vehicle.owner_phone).where(Vehicle.plate == plate))).one()


async def test_a_registered_plate_changes_hands_only_with_its_owners_consent(controller: TestServer) -> None:
    """Before: registering a registered plate with another phone and that
    phone's own code silently replaced the verified owner."""
    sms = await sim(controller, "sms").start()
    public = Api(controller)
    plate, thief = "京C54321", "13800000666"
    path = "/api/public/vehicles"
    try:
        await register(public, sms, plate, OWNER)
        status, reg = await public.request("POST", path, json={"plate": plate, "phone": thief})
        assert status == 201 and reg["owner_consent"] == "137****0301", reg
        token = reg["registration"]
        assert type(token) is str and len(token) >= 16 and not token.isdigit()
        own = await sms_code(sms, plate, thief)
        # The new phone's own code is not enough, nor is a guessed consent code.
        status, err = await public.request("POST", path + "/verify", json={"registration": token, "code": own})
        assert (status, err["error_id"], err["details"]["field"]) == (400, "carmove-code-refused", "owner_code")
        status, err = await public.request(
            "POST", path + "/verify", json={"registration": token, "code": own, "owner_code": "000000"}
        )
        assert (status, err["details"].get("attempts_left")) == (400, 4), err
        assert await owner_of(controller, plate) == OWNER
        # The owner was asked, and told who would take over (masked).
        asked = [m["text"] for m in sms.messages.values() if m["citizen"] == OWNER and "如您同意" in m["text"]]
        assert "138****0666" in asked[-1] and thief not in asked[-1]
        # The new owner on the public page, on a phone: told whose consent is needed, gives both codes.
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)).new_page()
            await page.goto(str(controller.make_url("/public")))
            await page.fill("#vPlate", plate)
            await page.fill("#vPhone", thief)
            await page.click("#vSend")
            await page.wait_for_selector("#vOwnerHint:has-text('137****0301')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "public-vehicle-consent.png"), full_page=True)
            await page.fill("#vCode", await _newest_code(sms, plate, thief, skip=1))
            await page.fill("#vOwnerCode", await _newest_code(sms, plate, OWNER, skip=len(asked), consent=True))
            await page.click("#vVerify")
            await page.wait_for_selector("#vDone:has-text('登记成功：京C54321，联系电话 138****0666')")
        assert await owner_of(controller, plate) == thief
        await eventually(
            lambda: [
                m
                for m in sms.messages.values()
                if m["citizen"] == OWNER and "已按您的同意改为 138****0666" in m["text"]
            ],
            timeout=15,
        )
        log = [(e.kind, e.note) for e in await _unbound(controller)]
        assert ("owner-changed", f"{plate} 联系电话由 137****0301 改为 138****0666（原车主验证码同意，public）") in log
        # Codes to one phone are limited per hour, whoever asks: the owner's phone had three.
        status, err = await public.request("POST", path, json={"plate": "京D22222", "phone": OWNER})
        assert (status, err["error_id"]) == (429, "carmove-limit") and "137****0301" in err["message"]
        # Old sequential ids are refused as bad input.
        status, err = await public.request("POST", path + "/verify", json={"registration": 1, "code": own})
        assert (status, err["error_id"]) == (400, "bad-request")
    finally:
        await close_all(public, sms)


async def _newest_code(sms: GatewaySim, plate: str, phone: str, skip: int, consent: bool = False) -> str:
    """The code of a message of its kind newer than the `skip` already seen."""

    def fresh() -> list[str]:
        texts = [
            m["text"]
            for m in sms.messages.values()
            if m["citizen"] == phone and plate in m["text"] and ("如您同意" in m["text"]) == consent
        ]
        return [re.search(r"验证码 ([0-9]{6})", t).group(1) for t in texts][skip:]  # type: ignore[union-attr]

    return (await eventually(fresh, timeout=15))[-1]


async def steps(server: TestServer, binding: int) -> list[str]:
    async with server.app[SESSIONS]() as db:
        return [
            e.kind
            for e in (
                await db.scalars(
                    select(CarmoveEvent).where(CarmoveEvent.binding_id == binding).order_by(CarmoveEvent.id)
                )
            ).all()
        ]


def shown(recorder: Recorder, channel_prefix: str) -> list[dict[str, str]]:
    """The identities a party's channels were shown, event by event."""
    out = []
    for e in recorder.events:
        raw = e.raw.as_dict()
        if not raw.get("Channel", "").startswith(channel_prefix):
            continue
        out.append(
            {
                k: v
                for k, v in raw.items()
                if k in ("CallerIDNum", "ConnectedLineNum", "CallerIDName", "ConnectedLineName")
            }
        )
    return out


async def test_car_moving_end_to_end_with_masked_numbers(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    settings = controller.app[SETTINGS]
    sms = await sim(controller, "sms").start()
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD)
    await ami.action("Setvar", Variable="SIM_PSTN_HEARD", Value="1")
    try:
        async with chromium() as browser:
            # The owner registers the car on the public page, on a phone, with the SMS code.
            phone = await (await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)).new_page()
            await phone.goto(str(controller.make_url("/public")))
            await phone.fill("#vPlate", "京a 12345")
            await phone.fill("#vPhone", OWNER)
            await phone.click("#vSend")
            await phone.fill("#vCode", await sms_code(sms, PLATE, OWNER))
            await phone.click("#vVerify")
            await phone.wait_for_selector("#vDone:has-text('登记成功：京A12345')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await phone.screenshot(path=str(SHOTS / "public-vehicle.png"), full_page=True)
            # The requester presses 2 and reaches the agent, whose desk opens the car-moving pane.
            requester = await choose(controller, ami, recorder, "2")
            pop = await desk.pop()
            assert pop["ticket"]["caller"] == requester.caller
            page = await (await browser.new_context(viewport={"width": 1300, "height": 900})).new_page()
            await page.goto(str(controller.make_url("/desk")))
            await sign_in(page, desk.username, desk.api.password, "/desk")
            await page.wait_for_selector("#carmove[open]")
            await page.fill("#cmPlate", "京a12345")
            await page.fill("#cmLocation", "幸福路 8 号小区门口")
            await page.click("#btnCarmove")
            await page.wait_for_selector("#cmState:has-text('呼叫车主')")
            await page.screenshot(path=str(SHOTS / "desk-carmove.png"), full_page=True)
        _, over = await lead.request("GET", "/api/carmove")
        b = over["bindings"][0]
        x = b["x"]
        assert x in settings.carmove.pool and b["owner"] == "137****0301" and OWNER not in str(b)
        # The owner's phone rings showing X; it answers and hears the message.
        ring = await recorder.wait_for(
            ev.Newstate,
            lambda e: (
                e.channel.startswith(f"Local/{OWNER}@sim-pstn")
                and e.channel.endswith(";2")
                and e.channel_state_desc == "Up"
            ),
            timeout=30,
        )
        assert ring.caller_id_num == x
        await eventually(lambda: _has(steps(controller, b["id"]), "answered"), timeout=20)
        await asyncio.sleep(3)  # part of the message
        await ami.action("PlayDTMF", Channel=ring.channel, Digit="1", Duration=120)
        await eventually(lambda: _has(steps(controller, b["id"]), "key1"), timeout=30)
        # The requester's leg enters a bridge with the owner's.
        await recorder.wait_for(
            ev.UnknownEvent, lambda e: e.name == "BridgeEnter" and e.raw.get("Channel") == requester.inner, timeout=20
        )
        async with controller.app[SESSIONS]() as db:
            row = await db.get(CarmoveBinding, b["id"])
            assert row is not None and row.state == "bridged" and row.owner == OWNER
        # The two talk in turn: a quiet second, the requester speaks, then the owner.
        await asyncio.sleep(1)
        requester_talks = await talk(ami, recorder, requester.outer)
        await asyncio.sleep(2.5)
        requester_stops = await hush(ami, recorder, requester.outer)
        owner_talks = await talk(ami, recorder, ring.channel)
        await asyncio.sleep(2.5)
        await ami.action("Hangup", Channel=ring.channel)
        owner_stops = await recorder.wait_for(ev.Hangup, lambda e: e.channel == requester.inner, timeout=20)
        # What each heard, from the PBX's own recordings of their legs (both directions mixed,
        # so a party's window is measured while only the other one speaks).
        owner_file = next(settings.recordings_dir.glob(f"sim-heard-pstn-{OWNER}-*.wav"))
        owner_start = await recorder.wait_for(
            ev.Newexten,
            lambda e: e.channel == ring.channel and "MixMonitor" in e.app_data,  # in sim-pstn's ExecIf
        )
        requester_file = settings.recordings_dir / f"carmove-{b['id']}-requester.wav"
        requester_start = await recorder.wait_for(
            ev.Newexten,
            lambda e: (
                e.channel == requester.inner and e.context == "hotline-carmove-wait" and e.application == "MixMonitor"
            ),
        )
        await eventually(lambda: requester_file.is_file() and requester_file.stat().st_size > 44, timeout=15)
        owner_heard = rms_between(owner_file, owner_start, requester_talks, requester_stops)
        requester_heard = rms_between(requester_file, requester_start, owner_talks, owner_stops)
        assert owner_heard > 0.01 and requester_heard > 0.01, (owner_heard, requester_heard)
        # Before anyone spoke, the bridge carried nothing: the figures above are the other party.
        silence = rms_between(owner_file, owner_start, stamp_plus(requester_talks, -1.0), requester_talks)
        assert silence < 0.003, silence
        assert (settings.recordings_dir / f"carmove-{b['id']}-owner.wav").is_file()

        # Within the binding's life, the owner calls X back and reaches the requester, shown X.
        await call_in(ami, OWNER, number=x)
        back = await recorder.wait_for(
            ev.Newstate,
            lambda e: (
                e.channel.startswith(f"Local/{requester.caller}@sim-pstn")
                and e.channel.endswith(";2")
                and e.channel_state_desc == "Up"
            ),
            timeout=30,
        )
        assert back.caller_id_num == x
        await ami.action("Hangup", Channel=back.channel)
        # The requester calls X and reaches the owner.
        await call_in(ami, requester.caller, number=x)
        again = await recorder.wait_for(
            ev.Newstate,
            lambda e: (
                e.channel.startswith(f"Local/{OWNER}@sim-pstn")
                and e.channel.endswith(";2")
                and e.channel_state_desc == "Up"
                and e.uniqueid != ring.uniqueid
            ),
            timeout=30,
        )
        assert again.caller_id_num == x
        await ami.action("Hangup", Channel=again.channel)
        # After the binding's life: the prompt, and nobody is rung.
        clock.now += dt.timedelta(minutes=settings.carmove.ttl_minutes + 1)
        await call_in(ami, OWNER, number=x, listen="carmove-ended")
        told = await recorder.wait_for(
            ev.Newexten, lambda e: e.application == "Playback" and "carmove-ended" in e.app_data, timeout=30
        )
        # The call ends after the prompt: its dialplan is done, and it rang nobody.
        await recorder.wait_for(ev.Hangup, lambda e: e.channel == told.channel, timeout=30)
        assert _steps_sync(recorder, requester.caller) == 1  # only the call back within the life
        ended = settings.recordings_dir / "sim-heard-carmove-ended.wav"
        await eventually(lambda: ended.is_file() and ended.stat().st_size > 44, timeout=15)
        assert rms(ended) > 0.01 and seconds(ended) > 2
        assert "ended-call" in [e.kind for e in await _unbound(controller)]
        # Neither party's phone ever showed the other's number.
        owner_saw = shown(recorder, f"Local/{OWNER}@sim-pstn")
        requester_saw = shown(recorder, requester.outer.rsplit(";", 1)[0])
        assert any(x in f.values() for f in owner_saw) and any(x in f.values() for f in requester_saw)
        assert not [f for f in owner_saw if any(requester.caller in v for v in f.values())]
        assert not [f for f in requester_saw if any(OWNER in v for v in f.values())]
        assert all(OWNER not in p.name for p in settings.recordings_dir.glob("carmove-*"))
    finally:
        await ami.action("Setvar", Variable="SIM_PSTN_HEARD", Value="")
        await close_all(desk, lead, sms)


def _steps_sync(recorder: Recorder, number: str) -> int:
    return len(
        recorder.of(
            ev.Newchannel, lambda e: e.channel.startswith(f"Local/{number}@sim-pstn") and e.channel.endswith(";1")
        )
    )


async def _has(got: Any, step: str) -> bool:
    return step in await got


async def _unbound(server: TestServer) -> list[CarmoveEvent]:
    async with server.app[SESSIONS]() as db:
        return list((await db.scalars(select(CarmoveEvent).where(CarmoveEvent.binding_id.is_(None)))).all())


async def next_call(desk: Desk, ami: AMIClient, caller: str) -> None:
    """The agent ends the previous call's wrap-up and takes the next caller."""
    await ami.action("Hangup", Channel="/^Local.s@hotline-fallback/")
    await desk.call("POST", "/api/agent/wrapup/end")
    desk.frames.clear()
    await queue_caller(ami, caller)
    pop = await desk.pop()
    assert pop["ticket"]["caller"] == caller


async def test_the_monthly_limit_and_the_blacklist_refuse_and_unregistered_plates_are_named(
    controller: TestServer, ami: AMIClient, clock: Clock
) -> None:
    sms = await sim(controller, "sms").start()
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD)
    requester = "13900000399"
    try:
        # An agent registers the car for its owner, who reads back the code.
        await register(desk.api, sms, PLATE, OWNER, path="/api/carmove/vehicles")
        await next_call(desk, ami, "13900000398")
        status, err = await desk.call("POST", "/api/carmove/requests", json={"plate": "京B99999", "location": "幸福路"})
        assert (status, err["error_id"]) == (404, "carmove-unregistered") and "京B99999" in err["message"]
        status, err = await desk.call("POST", "/api/carmove/requests", json={"plate": "京A", "location": "幸福路"})
        assert (status, err["details"]["field"]) == (400, "plate")
        # Five uses this month already (expired bindings): the sixth is refused.
        async with controller.app[SESSIONS]() as db, db.begin():
            for n in range(controller.app[SETTINGS].carmove.monthly_limit):
                at = clock.now - dt.timedelta(hours=1, minutes=n)
                db.add(
                    CarmoveBinding(
                        x="02160000001",
                        requester=requester,
                        owner=OWNER,
                        plate=PLATE,
                        location="x",
                        agent="a",
                        ticket_number="",
                        state="bridged",
                        created_at=at,
                        expires_at=at + dt.timedelta(minutes=30),
                    )
                )
        await next_call(desk, ami, requester)
        status, err = await desk.call("POST", "/api/carmove/requests", json={"plate": PLATE, "location": "幸福路"})
        assert (status, err["error_id"]) == (429, "carmove-limit")
        # A number on the blacklist is refused whatever its count.
        status, _ = await lead.request(
            "POST", "/api/carmove/blacklist", json={"number": "13900000397", "reason": "恶意挪车骚扰"}
        )
        assert status == 201
        _, over = await lead.request("GET", "/api/carmove")
        assert over["blacklist"][0]["number"] == "139****0397" and over["this_month"] == 5
        async with chromium() as browser:
            page = await (await browser.new_context(viewport={"width": 1200, "height": 800})).new_page()
            await page.goto(str(controller.make_url("/carmove")))
            await sign_in(page, lead.username, lead.password, "/carmove")
            await page.wait_for_selector("#blacklist td:has-text('139****0397')")
            await page.wait_for_selector("#summary:has-text('本月已使用 5 次')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "carmove-lead.png"), full_page=True)
        await next_call(desk, ami, "13900000397")
        status, err = await desk.call("POST", "/api/carmove/requests", json={"plate": PLATE, "location": "幸福路"})
        assert (status, err["error_id"]) == (403, "carmove-blacklisted")
        assert (await lead.request("DELETE", "/api/carmove/blacklist/13900000397"))[0] == 200
        # Every refusal is in the log.
        assert [e.kind for e in await _unbound(controller)].count("refused") == 2
    finally:
        await close_all(desk, lead, sms)


async def test_an_owner_the_pbx_cannot_call_leaves_the_requester_told_and_released_and_nothing_bound(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """Before: when Asterisk refused the owner's call after the requester
    was put on hold, nothing undid it: the requester sat in hold music and
    the pool number stayed bound to the two numbers."""
    settings = controller.app[SETTINGS]
    sms = await sim(controller, "sms").start()
    desk = await Desk(controller, "seat01").start()
    plate, requester = "京E20260", "13900000388"
    try:
        await register(desk.api, sms, plate, OWNER, path="/api/carmove/vehicles")
        # The PBX can no longer place the owner's leg: its dial context has no extension.
        await ami.action("Command", Command="dialplan remove extension _X.@hotline-carmove-dial")
        # The requester keeps what they hear (sim-heard-carmove-refused.wav).
        await ami.action(
            "Originate",
            Channel="Local/s@hotline-fallback",
            Context="sim-listener",
            Exten="carmove-refused",
            Priority="1",
            CallerID=f"<{requester}>",
            Async="true",
        )
        pop = await desk.pop()
        assert pop["ticket"]["caller"] == requester
        status, b = await desk.call("POST", "/api/carmove/requests", json={"plate": plate, "location": "幸福路 9 号"})
        assert status == 201 and b["state"] == "calling", b
        # Asterisk refuses the call it was asked to place...
        refused = await recorder.wait_for(
            ev.OriginateResponse,
            lambda e: e.channel == f"Local/{OWNER}@hotline-carmove-dial" and e.response == "Failure",
            timeout=20,
        )
        assert refused.caller_id_num == b["x"]
        # ...so the requester is told and released, long before the hold loop would have ended.
        # (Newexten names the new place; after a Redirect its AppData can still be the old one's.)
        told = await recorder.wait_for(
            ev.Newexten, lambda e: (e.context, e.exten) == ("hotline-carmove-wait", "failed"), timeout=20
        )
        await recorder.wait_for(ev.Hangup, lambda e: e.channel == told.channel, timeout=20)
        heard = settings.recordings_dir / "sim-heard-carmove-refused.wav"
        await eventually(lambda: heard.is_file() and heard.stat().st_size > 44, timeout=15)
        assert rms(heard) > 0.01 and seconds(heard) > 2, (rms(heard), seconds(heard))
        assert not recorder.of(ev.Newexten, lambda e: (e.context, e.exten) == ("hotline-carmove-wait", "unreached"))
        # Nothing is left bound: the binding ended, the agent sees why, the ticket says so.
        status, view = await eventually(lambda: _settled(desk, b["id"]), timeout=15)
        assert (status, view["state"], view["state_text"], view["active"]) == (200, "failed", "未能呼叫车主", False)
        assert [e["kind"] for e in view["events"]] == ["created", "failed"]
        status, ticket = await desk.call("GET", f"/api/tickets/{pop['ticket']['number']}")
        assert [h["note"] for h in ticket["history"] if h["action"] == "carmove"][-1] == (
            f"挪车未能呼叫车主（车牌 {plate}），已告知求助人"
        )
        # Calling X now reaches no one: the expired-binding prompt.
        await call_in(ami, OWNER, number=b["x"], listen="carmove-refused-x")
        await recorder.wait_for(
            ev.Newexten, lambda e: e.application == "Playback" and "carmove-ended" in e.app_data, timeout=30
        )
    finally:
        await ami.action("Command", Command="dialplan reload")
        await ami.action("Hangup", Channel="/^Local.02160000.*@from-pstn/")
        await close_all(desk, sms)


async def _settled(desk: Desk, binding: int) -> tuple[int, dict[str, Any]] | None:
    status, view = await desk.call("GET", f"/api/carmove/{binding}")
    return (status, view) if view.get("state") != "calling" else None
