"""Quality inspection of a real call through the bundled Asterisk: the seat
greets, falls silent for 12 s, then talks over the caller; the automatic
checks find exactly that from the two recordings, flag the call, and the
lead's page shows it beside the recording."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.briefings import render
from hotline.briefings.api import BRIEFINGS
from hotline.briefings.periods import Kind, containing
from hotline.config import Settings
from hotline.db.models import RosterEntry
from hotline.pbx.process import Pbx
from hotline.quality.api import QUALITY
from hotline.roles import Role
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.browser import SHOTS, chromium, sign_in
from tests.integration.conftest import Clock, running_controller
from tests.integration.desk import Desk
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx

# Seconds on the call's clock (0 = the seat answered).
SILENT_FROM, SILENT_FOR = 2.5, 12.0
AGENT_AGAIN, CALLER_FROM = 14.5, 16.0
BOUND = 1.5
FULL = {
    "greeting": 10,
    "listening": 20,
    "accuracy": 30,
    "ticket": 25,
    "manner": 15,
    "abuse": 0,
}  # the two legs start within this of the answer (bridging, Local channels)


def _say(text: str, out: Path, seconds: float) -> Path:
    """Mandarin speech (espeak-ng, read on standard input) cut or padded to `seconds`, 8 kHz."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "cmn", "-s", "150", "-w", str(raw), "--stdin"], input=text.encode(), check=True)
    subprocess.run(
        ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out), "pad", "0", "10", "trim", "0", str(seconds)],
        check=True,
    )
    raw.unlink()
    return out


def _silence(out: Path, seconds: float) -> Path:
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(out), "trim", "0", str(seconds)], check=True)
    return out


def _join(out: Path, *parts: Path) -> Path:
    subprocess.run(["sox", *map(str, parts), str(out)], check=True)
    for p in parts:
        p.unlink()
    os.chmod(out, 0o644)  # Asterisk reads it
    return out


@pytest.fixture
async def controller(
    pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path, migrated: Path
) -> AsyncIterator[TestServer]:
    """The session's controller with the quality checks on (off for the rest of the suite)."""
    quality = settings.quality.model_copy(update={"enabled": True})
    async with running_controller(settings, clock, tmp_path, migrated, quality=quality) as server:
        yield server


async def test_a_silent_agent_who_talks_over_the_caller_is_found_flagged_and_shown(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock, tmp_path: Path
) -> None:
    s = controller.app[SETTINGS]
    folder = s.prompts_dir
    folder.mkdir(parents=True, exist_ok=True)
    agent_file = _join(
        folder / "qa-test-agent.wav",
        _say("您好，市民服务热线", tmp_path / "a1.wav", SILENT_FROM),
        _silence(tmp_path / "a2.wav", SILENT_FOR),
        _say("请您稍等，我来为您查询一下相关的政策规定，马上答复您", tmp_path / "a3.wav", 6.0),
    )
    caller_file = _join(
        folder / "qa-test-caller.wav",
        _silence(tmp_path / "c1.wav", CALLER_FROM),
        _say("我家楼下的工地每天晚上都在施工，太吵了", tmp_path / "c2.wav", 6.0),
    )
    pbx_dir = s.ivr.pbx_prompts_dir.rstrip("/")
    await ami.action("Setvar", Variable="SIM_SAY", Value=f"{pbx_dir}/qa-test-agent")
    await ami.action("Setvar", Variable="SIM_RING", Value="0")
    await ami.action("Setvar", Variable="SIM_TALK", Value="4")  # after its words, the seat hangs up
    desk = await Desk(controller, "seat01").start()
    lead = await Api(controller).login_as(Role.LEAD)
    lead2 = await Api(controller).login_as(Role.LEAD)
    try:
        # The caller's side says its part from the moment the seat answers.
        await ami.action(
            "Originate",
            Channel="Local/s@hotline-fallback",
            Application="Playback",
            Data=f"{pbx_dir}/qa-test-caller",
            CallerID="<13911112222>",
            Async="true",
        )
        connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13911112222", timeout=30)
        quality = controller.app[QUALITY]
        await eventually(lambda: quality.checked + quality.failed >= 1, timeout=60)
        assert quality.failed == 0
        checks = await quality.checks()
        c = checks[0]
        m = c["metrics"]
        assert c["call_id"] == (connect.var("HOTLINE_CALLID") or connect.linkedid)
        print(
            f"\nquality checks: {m['duration_s']:.1f} s of call, longest silence {m['longest_silence_s']:.1f} s "
            f"at {m['longest_silence_at']:.1f} s, overtalk {m['overtalk']}, greet {m['greet_s']} s, "
            f"{c['cpu_s'] * 1000:.0f} ms CPU ({c['cpu_s'] / (m['duration_s'] / 60) * 1000:.0f} ms per minute of audio)"
        )
        assert abs(m["longest_silence_s"] - SILENT_FOR) <= BOUND
        assert abs(m["longest_silence_at"] - SILENT_FROM) <= BOUND
        (start, end), *_ = m["overtalk"]
        assert abs(start - CALLER_FROM) <= BOUND and abs(end - (AGENT_AGAIN + 6.0)) <= BOUND
        assert m["greet_s"] is not None and m["greet_s"] <= BOUND
        codes = {f["code"] for f in c["flags"]}
        assert {"silence", "overtalk"} <= codes and "no-greeting" not in codes
        # The lead's list of calls to review has it, and the page shows who spoke when.
        # The agent was rostered on the day shift (白班, 08:30-17:30): the figures per shift count the call there.
        async with controller.app[SESSIONS]() as db, db.begin():
            db.add(RosterEntry(day=dt.date(2026, 11, 25), shift="B", agent=desk.username, added_at=clock.now))
        status, body = await lead.request("GET", "/api/quality/checks?flagged=1")
        assert status == 200 and body["checks"][0]["call_id"] == c["call_id"]
        assert body["checks"][0]["sampled"] is False  # flagged: no need of the random sample
        assert body["agents"] == [
            {
                "agent": desk.username,
                "checked": 1,
                "flagged": 1,
                "agent_share": m["agent_share"],
                "silence_share": m["silence_share"],
                "overtalk_share": m["overtalk_share"],
            }
        ]
        assert [(x["shift"], x["checked"], x["flagged"]) for x in body["shifts"]] == [("白班", 1, 1)]
        # The day's briefing for leaders carries the same figures per shift.
        day = containing(Kind.DAILY, clock.now.date())
        brief = await controller.app[BRIEFINGS].contents(day)
        assert brief["quality"] | {"shifts": None} == {"checked": 1, "flagged": 1, "shifts": None}
        assert [(x["shift"], x["checked"], x["flagged"]) for x in brief["quality"]["shifts"]] == [("白班", 1, 1)]
        assert "本期自动质检人工通话 1 通，其中需复核 1 通（100.0 %）" in render.html(brief, links=False, nav=False)
        status, _ = await desk.call("GET", "/api/quality/checks")
        assert status == 403  # an agent reads only their own
        status, mine = await desk.call("GET", "/api/quality/mine")
        assert status == 200 and [x["call_id"] for x in mine["checks"]] == [c["call_id"]]
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1300, "height": 800})
            await page.goto(str(controller.make_url("/lead/quality")))
            await sign_in(page, lead.username, lead.password, "/lead/quality")
            box = f"div.call[data-call='{c['call_id']}']"
            await page.wait_for_selector(f"{box} .flag")
            text = await page.inner_text(box)
            assert "静音 1" in text and "抢话" in text and desk.username in text
            # The agent's greeting, then the words after the silence.
            assert await page.locator(f"{box} .agent .seg").count() == 2
            assert await page.locator(f"{box} .over .seg").count() == 1
            # The lead grades it on the scorecard beside the recording: talked over the caller.
            form = page.locator(f"{box} form.card")
            await form.locator("input[name=listening]").fill("5")
            await form.locator("input[name=comment]").fill("长时间静音后抢话")
            await form.locator("button[type=submit]").click()
            await page.wait_for_selector(f"{box} .grade:has-text('{lead.username} 评分 85 分')")
            # A second lead grades the same call (calibration): the page shows how far apart they are.
            status, graded = await lead2.request(
                "POST",
                f"/api/quality/calls/{c['call_id']}/grades",
                json={"marks": {**FULL, "listening": 10, "manner": 10}, "comment": "同意扣分"},
            )
            assert status == 200 and graded["agreement"]["spread"] == 0, graded
            await page.reload()
            await page.wait_for_selector(f"{box} .agree:has-text('2 位评分：总分相差 0 分，4/6 项一致')")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "quality.png"), full_page=True)
            # The agent sees their scores and the comments, and appeals once.
            agent_page = await (await browser.new_context(viewport={"width": 1000, "height": 800})).new_page()
            await agent_page.goto(str(controller.make_url("/quality/mine")))
            await sign_in(agent_page, desk.username, desk.api.password, "/quality/mine")
            await agent_page.wait_for_selector("text=评语：长时间静音后抢话")
            assert "85 分" in await agent_page.inner_text("#calls")
            agent_page.once("dialog", lambda d: d.accept("当时系统卡顿，并非有意"))
            await agent_page.click("text=申诉（每通电话一次）")
            await agent_page.wait_for_selector("text=我的申诉：当时系统卡顿，并非有意（待处理）")
            await agent_page.screenshot(path=str(SHOTS / "quality-mine.png"), full_page=True)
        status, body = await desk.call("POST", f"/api/quality/calls/{c['call_id']}/appeal", json={"reason": "再申诉"})
        assert status == 409 and body["error_id"] == "quality-refused"
        status, body = await lead.request(
            "POST", f"/api/quality/calls/{c['call_id']}/appeal/answer", json={"upheld": False, "answer": "录音清楚"}
        )
        assert status == 200 and body["appeal"]["state_text"] == "申诉不成立"
        status, mine = await desk.call("GET", "/api/quality/mine")
        assert mine["grades"][0]["appeal"]["answer"] == "录音清楚"

        # An admin edits the scorecard on the page: a sum that is not 100 is refused in view.
        admin = await Api(controller).login_as(Role.ADMIN)
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1300, "height": 900})
            await page.goto(str(controller.make_url("/lead/quality")))
            await sign_in(page, admin.username, admin.password, "/lead/quality")
            await page.click("#card summary")
            await page.wait_for_selector("#cardEdit:not([hidden])")
            await page.locator("#cardItems tr[data-key=manner] input[type=number]").fill("10")
            await page.click("#saveCard")
            await page.wait_for_selector("#cardState.err:has-text('各项分值之和应为 100（现为 95）')")
            await page.click("#addItem")
            row = page.locator("#cardItems tbody tr").last
            await row.locator("input[aria-label=代码]").fill("empathy")
            await row.locator("input[aria-label=评分项]").fill("共情安抚")
            await row.locator("input[aria-label=分值]").fill("5")
            await page.wait_for_selector("#cardSum:has-text('合计 100 分，7 项')")
            await page.click("#saveCard")
            await page.wait_for_selector("#cardState.ok:has-text('评分表已保存（7 项）')")
            await page.screenshot(path=str(SHOTS / "quality-scorecard.png"), full_page=True)
        await admin.close()
        status, card = await lead.request("GET", "/api/quality/scorecard")
        got = {i["key"]: (i["text"], i["weight"], i["fatal"]) for i in card["items"]}
        assert got["empathy"] == ("共情安抚", 5, False) and got["manner"][1] == 10 and got["abuse"][2] is True
        # A lead reads the scorecard but may not change it.
        status, _ = await lead.request("PUT", "/api/quality/scorecard", json={"items": card["items"]})
        assert status == 403
    finally:
        await desk.close()
        await lead.close()
        await lead2.close()
        agent_file.unlink(missing_ok=True)
        caller_file.unlink(missing_ok=True)
