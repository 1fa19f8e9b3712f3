"""The desk's browser phone against the real PBX: headless Chromium with a
fake microphone (a WAV file of a 440 Hz tone) registers seat01 over the
controller's /ws/sip relay and answers a caller from the queue; the audio
flows both ways (measured: the caller's recording holds the browser's tone,
and the page reads the caller's hold music with the Web Audio API); mute
silences the agent; hanging up starts after-call work. A second agent cannot
register seat01. A tab closed mid-call pauses the seat and puts the caller
back at the front of the queue, where the next agent takes them."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.roles import Role
from hotline.seats import state as st
from hotline.seats.api import WEBPHONES
from hotline.web.keys import SETTINGS
from tests.integration.audio import sox_stat, stamp
from tests.integration.browser import SHOTS, chromium, media_args, sign_in
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx

# What an agent needs during a call without scrolling: the caller and their
# history, the ticket form and its submit, the knowledge base, the call's
# controls and the work item bar.
ONE_SCREEN = (
    "#caller",
    "#history",
    "#wpHangup",
    "#wpMute",
    "#wpTimer",
    "#btnHold",
    "#btnTransfer",
    "#btnConf",
    "#category",
    "#content",
    "#answer",
    "#btnSubmit",
    "#kbQuery",
    "#seatState",
    "#btnReady",
)


@pytest.fixture
def microphone(tmp_path: Path) -> Path:
    return tone_440(tmp_path)


def tone_440(tmp_path: Path) -> Path:
    """What the browser's fake microphone says: 30 s of 440 Hz."""
    tone = tmp_path / "tone-440.wav"
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "30", "sine", "440"], check=True
    )
    tone.chmod(0o644)
    tmp_path.chmod(0o755)
    return tone


async def registered(ami: AMIClient, endpoint: str) -> bool:
    return f"{endpoint}/sip:" in await ami.command(f"pjsip show aor {endpoint}")


async def duplex_caller(ami: AMIClient, label: str, number: str) -> None:
    """A caller straight into the queue who talks (hold music) and records what it hears."""
    await ami.action(
        "Originate",
        Channel="Local/s@hotline-fallback",
        Context="sim-duplex",
        Exten=label,
        Priority="1",
        CallerID=f"<{number}>",
        Async="true",
        Timeout=60000,
    )


async def test_the_browser_phone_answers_a_queued_caller_with_audio_both_ways(
    phones_controller: TestServer, ami: AMIClient, recorder: Recorder, microphone: Path
) -> None:
    server = phones_controller
    settings = server.app[SETTINGS]
    agent = await Api(server).login_as(Role.AGENT, "web-agent")
    assert (await agent.request("POST", "/api/agent/login", json={"seat": "seat01"}))[0] == 200
    try:
        async with chromium(media_args(microphone)) as browser:
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(server.make_url("/desk")))
            await sign_in(page, agent.username, agent.password, "/desk")
            await page.check("#wpToggle")
            await page.wait_for_selector("#wpState.ready:has-text('已登记（seat01）')", timeout=20000)
            await eventually(lambda: registered(ami, "seat01-web"), timeout=10)
            assert (await agent.request("POST", "/api/agent/ready"))[0] == 200
            await duplex_caller(ami, "wp-both", "13588880001")
            await page.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)
            await page.click("#wpAnswer")
            began = await recorder.wait_for(
                ev.Newexten, lambda e: e.context == "sim-duplex" and e.application == "MixMonitor", timeout=20
            )
            await page.wait_for_selector("#caller:has-text('13588880001')", timeout=10000)  # the pop
            tone = await eventually(lambda: _heard(page), timeout=15)
            assert tone["rms"] > 0.005 and 480 < tone["peak_hz"] < 700, tone  # the caller's hold music
            await page.wait_for_selector("#wpTimer:has-text('00:0')")
            await page.wait_for_selector("#stateTimer:has-text('00:')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            # Everything a call needs on one screen, at both sizes a centre's desks have.
            for width, height in ((1440, 900), (1280, 720)):
                await page.set_viewport_size({"width": width, "height": height})
                for sel in ONE_SCREEN:
                    box = await page.locator(sel).bounding_box()
                    assert box and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, (sel, box)
                await page.screenshot(path=str(SHOTS / f"desk-webphone-{width}x{height}.png"))
            talk_from = time.time()
            await asyncio.sleep(3)
            await page.keyboard.press("Alt+m")  # mute by shortcut
            await page.wait_for_selector("#wpMute.on")
            muted_from = time.time()
            await asyncio.sleep(3)
            muted_to = time.time()
            await page.click("#wpHangup")
            await page.wait_for_selector("#seatState:has-text('话后处理')", timeout=15000)
            assert server.app[ACD].floor.seats["seat01"].status() == st.Status.WRAPUP
            # The same agent opens the desk in a second tab: its phone takes over, and
            # the first tab says so and lets it be (no taking it back and forth).
            again = await page.context.new_page()
            await again.goto(str(server.make_url("/desk")))
            await again.check("#wpToggle")
            await again.wait_for_selector("#wpState.ready:has-text('已登记（seat01）')", timeout=20000)
            await page.wait_for_selector("#wpState:has-text('网页电话已在另一页面打开')", timeout=10000)
            link = server.app[WEBPHONES].links["seat01"]
            await asyncio.sleep(4)  # past SIP.js's reconnection delay (3 s)
            assert server.app[WEBPHONES].links["seat01"] is link and not await page.is_checked("#wpToggle")
            await again.close()
            # Leaving the seat ends its browser phone too.
            assert (await agent.request("POST", "/api/agent/logout"))[0] == 200
            await eventually(lambda: "seat01" not in server.app[WEBPHONES].links, timeout=10)
            await page.wait_for_selector("#wpState:has-text('未启用')", timeout=10000)
        heard = settings.recordings_dir / "sim-heard-wp-both.wav"
        await eventually(lambda: heard.is_file() and heard.stat().st_size > 44, timeout=15)
        await asyncio.sleep(1)  # MixMonitor closes its file after the hang-up
        start = talk_from - stamp(began)
        rms, freq = sox_stat(heard, max(start, 0) + 0.5, 2.0)
        assert rms > 0.01 and 400 < freq < 480, (rms, freq)  # the browser's 440 Hz tone
        quiet, _ = sox_stat(heard, muted_from - stamp(began) + 0.7, muted_to - muted_from - 1.2)
        assert quiet < rms / 10, (quiet, rms)
    finally:
        await agent.close()


async def _heard(page: object) -> dict[str, float] | None:
    tone = await page.evaluate("window.deskPhone.remoteTone()")  # type: ignore[attr-defined]
    return tone if tone and tone["rms"] > 0.005 else None


async def test_a_second_agent_cannot_register_a_seat_that_is_taken(
    phones_controller: TestServer, ami: AMIClient
) -> None:
    server = phones_controller
    first = await Api(server).login_as(Role.AGENT, "web-first")
    second = await Api(server).login_as(Role.AGENT, "web-second")
    assert (await first.request("POST", "/api/agent/login", json={"seat": "seat01"}))[0] == 200
    assert (await second.request("POST", "/api/agent/login", json={"seat": "seat02"}))[0] == 200
    try:
        status, mine = await first.request("POST", "/api/agent/webphone")
        assert status == 200 and mine["aor"].startswith("sip:seat01-web@") and mine["auth_user"] == "seat01"
        status, theirs = await second.request("POST", "/api/agent/webphone")
        assert status == 200 and theirs["seat"] == "seat02" and theirs["password"] != mine["password"]
        # The second agent's relay refuses a REGISTER of seat01's phone, whatever password it carries.
        url = str(server.make_url("/ws/sip")).replace("http", "ws", 1)
        origin = str(server.make_url("/")).rstrip("/")
        async with second.http.ws_connect(url, protocols=("sip",), headers={"Origin": origin}) as ws:
            await ws.send_str(_register("seat01-web", "127.0.0.1"))
            msg = await ws.receive(timeout=10)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) and ws.close_code == 4403
        assert not await registered(ami, "seat01-web")
        # Without a seat there is no relay at all, and another site's page gets none either.
        third = await Api(server).login_as(Role.AGENT, "web-third")
        try:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await third.http.ws_connect(url, protocols=("sip",), headers={"Origin": origin})
            assert refused.value.status == 409
            with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
                await first.http.ws_connect(url, protocols=("sip",), headers={"Origin": "http://evil.example"})
            assert foreign.value.status == 403
        finally:
            await third.close()
    finally:
        await first.close()
        await second.close()


def _register(user: str, host: str) -> str:
    return (
        f"REGISTER sip:{host} SIP/2.0\r\n"
        "Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK1\r\n"
        "Max-Forwards: 70\r\n"
        f"To: <sip:{user}@{host}>\r\n"
        f"From: <sip:{user}@{host}>;tag=1\r\n"
        "Call-ID: x1\r\nCSeq: 1 REGISTER\r\n"
        "Contact: <sip:x@abc.invalid;transport=ws>;expires=600\r\nContent-Length: 0\r\n\r\n"
    )


async def browser_phone(browser: object, server: TestServer, agent: Api) -> object:
    page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()  # type: ignore[attr-defined]
    await page.goto(str(server.make_url("/desk")))
    await sign_in(page, agent.username, agent.password, "/desk")
    await page.check("#wpToggle")
    await page.wait_for_selector("#wpState.ready", timeout=20000)
    return page


async def test_a_tab_closed_mid_call_pauses_the_seat_and_puts_the_caller_back_at_the_front(
    phones_controller: TestServer, ami: AMIClient, recorder: Recorder, microphone: Path
) -> None:
    server = phones_controller
    acd = server.app[ACD]
    first = await Api(server).login_as(Role.AGENT, "tab-closer")
    second = await Api(server).login_as(Role.AGENT, "next-agent")
    assert (await first.request("POST", "/api/agent/login", json={"seat": "seat01"}))[0] == 200
    assert (await second.request("POST", "/api/agent/login", json={"seat": "seat02"}))[0] == 200
    try:
        async with chromium(media_args(microphone)) as browser:
            one = await browser_phone(browser, server, first)
            two = await browser_phone(browser, server, second)
            assert (await second.request("POST", "/api/agent/pause", json={"reason": "meal"}))[0] == 200
            assert (await first.request("POST", "/api/agent/ready"))[0] == 200
            await duplex_caller(ami, "tab-a", "13588880011")
            await one.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)  # type: ignore[attr-defined]
            await one.click("#wpAnswer")  # type: ignore[attr-defined]
            talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13588880011", timeout=20)
            behind = "13588880012"
            await duplex_caller(ami, "tab-b", behind)  # waits: seat02 is at a meal
            await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == behind, timeout=20)
            await one.context.close()  # type: ignore[attr-defined]
            # The seat is paused at once, and the lead's map says why.
            await eventually(lambda: acd.floor.seats["seat01"].pause == st.PHONE_LOST, timeout=10)
            # After the grace, the caller is back in the queue, at its front.
            back = await recorder.wait_for(
                ev.QueueCallerJoin,
                lambda e: e.channel == talk.channel and recorder.events.index(e) > recorder.events.index(talk),
                timeout=30,
            )
            assert back.position == 1  # ahead of the caller who was waiting
            assert back.queue == "hotline"
            # The next agent is offered that caller before the one who waited behind.
            assert (await second.request("POST", "/api/agent/ready"))[0] == 200
            try:
                offered = await recorder.wait_for(ev.AgentCalled, lambda e: "seat02" in e.interface, timeout=40)
            except AssertionError as exc:  # what the queue held then, for whoever reads the failure
                raise AssertionError(
                    f"{exc}\n{await ami.command('queue show hotline')}\n{acd.floor.seats['seat02']}"
                ) from None
            assert any(c.kind == "requeue" and "13588880011" in c.detail for c in acd.changes)
            assert offered.channel == talk.channel
            await two.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)  # type: ignore[attr-defined]
    finally:
        await first.close()
        await second.close()


async def test_the_lead_listens_to_a_talking_seat_from_the_seat_maps_browser_phone(
    phones_controller: TestServer, ami: AMIClient, recorder: Recorder, microphone: Path
) -> None:
    server = phones_controller
    agent = await Api(server).login_as(Role.AGENT, "heard-agent")
    lead = await Api(server).login_as(Role.LEAD, "listening-lead")
    assert (await agent.request("POST", "/api/agent/login", json={"seat": "seat01", "ready": True}))[0] == 200
    try:
        async with chromium(media_args(microphone)) as browser:
            desk = await browser_phone(browser, server, agent)
            page = await (await browser.new_context(viewport={"width": 1440, "height": 900})).new_page()
            await page.goto(str(server.make_url("/lead/seatmap")))
            await sign_in(page, lead.username, lead.password, "/lead/seatmap")
            await page.check("#wpToggle")
            await page.wait_for_selector("#wpState.ready:has-text('已登记（monitor01）')", timeout=20000)
            assert await page.locator("#monitor").input_value() == "monitor01"
            await eventually(lambda: registered(ami, "monitor01-web"), timeout=10)
            await duplex_caller(ami, "heard", "13588880021")
            await desk.wait_for_selector("#wpRinging:not(.hidden)", timeout=20000)  # type: ignore[attr-defined]
            await desk.click("#wpAnswer")  # type: ignore[attr-defined]
            await page.click("#seat-seat01 button:has-text('监听')", timeout=20000)
            # The lead's page answers by itself and hears the call.
            await eventually(lambda: page.evaluate("window.deskPhone.inCall"), timeout=20)
            tone = await eventually(lambda: _heard(page), timeout=15)
            assert tone["rms"] > 0.005 and 400 < tone["peak_hz"] < 700, tone
            await page.wait_for_selector("#seat-seat01 .spying:has-text('监听中（monitor01）')")
            await page.screenshot(path=str(SHOTS / "seatmap-browser-listen.png"))
            await page.click("#seat-seat01 button:has-text('停止监听')")
            await eventually(lambda: _not(page.evaluate("window.deskPhone.inCall")), timeout=15)
            await page.wait_for_selector("#seat-seat01 .spying", state="detached")
            assert server.app[ACD].floor.seats["seat01"].talking  # the call itself goes on
            # Hold and a blind transfer from the desk work the same with the browser phone.
            await desk.click("#btnHold")  # type: ignore[attr-defined]
            await desk.wait_for_selector("#callState:has-text('保持中')")  # type: ignore[attr-defined]
            await desk.click("#btnHold")  # type: ignore[attr-defined]
            await desk.wait_for_selector("#callState:has-text('通话中')")  # type: ignore[attr-defined]
            await desk.select_option("#target", "12348")  # type: ignore[attr-defined]
            await desk.click("#btnTransfer")  # type: ignore[attr-defined]
            await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith("Local/12348@sim-pstn"), timeout=15)
            await eventually(lambda: _not(desk.evaluate("window.deskPhone.inCall")), timeout=15)  # type: ignore[attr-defined]
            await desk.wait_for_selector("#seatState:has-text('话后处理')", timeout=15000)  # type: ignore[attr-defined]
    finally:
        await agent.close()
        await lead.close()


async def _not(value: object) -> bool:
    return not await value  # type: ignore[misc]
