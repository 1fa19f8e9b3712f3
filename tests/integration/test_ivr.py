"""The IVR against the real PBX: simulated callers (Originate + PlayDTMF)
through the default flow, run by the controller over FastAGI."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.acd.api import ACD
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.db.models import Ticket, VoiceMessage, WorkItem
from hotline.ivr.api import ANNOUNCEMENTS, DRIVER, FLOWS
from hotline.ivr.app import DIALPLAN
from hotline.ivr.service import MAIN_FLOW
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.server import FASTAGI
from hotline.web.keys import SESSIONS, SETTINGS
from tests.integration.audio import rms_between
from tests.integration.conftest import SHANGHAI, Clock, running_controller
from tests.integration.desk import Desk
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api, IvrCaller, call_row, plays, prompt, set_clock

pytestmark = pytest.mark.pbx

NIGHT = dt.datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI)
SATURDAY = dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
async def admin(controller: TestServer) -> AsyncIterator[Api]:
    api = await Api(controller).login_as(Role.ADMIN)
    yield api
    await api.close()


async def choose(
    controller: TestServer, ami: AMIClient, recorder: Recorder, keys: str, menu: str = "day_menu", speak: bool = False
) -> IvrCaller:
    caller = await IvrCaller(ami, recorder, speak=speak).dial()
    await caller.wait_prompt(prompt(controller.app, menu))
    await caller.press(keys)
    return caller


async def test_menu_branches_reach_a_seat_with_category_and_path(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    cases = {"1": "咨询投诉求助", "2": "挪车", "0": ""}
    callers = await asyncio.gather(*(choose(controller, ami, recorder, k) for k in cases))
    for key, caller in zip(cases, callers):
        joined = await caller.queued()
        assert joined.queue == "hotline"
        # What the dialplan and the seat's screen read, set in one AGI command (MSet), Chinese included.
        assert joined.var("HOTLINE_CATEGORY") == cases[key]
        path = (await ami.action("Getvar", Channel=joined.channel, Variable="HOTLINE_IVR")).get("Value")
        assert f"day_menu:{key}" in path.split(">"), path
        row = await call_row(app, caller.caller)
        assert row.route == "queue" and row.category == cases[key]
        assert row.tag == "12345" and row.dialed == "12345" and row.flow_version >= 1
        menu_step = next(s for s in row.ivr_path if s["node"] == "day_menu")
        assert menu_step["key"] == key and menu_step["label"] == "日间主菜单"
        assert caller.heard(prompt(app, "to_seat"))  # "正在为您转接人工服务"
        # The common path is the dialplan's own (ivr.engine = dialplan): no FastAGI at all.
        assert caller.agi_commands() == []


async def test_over_fastagi_the_hand_off_is_one_mset(
    fastagi_controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """ivr.engine = fastagi: every step over FastAGI, and the route, the
    category and the path set in one AGI command (MSet), Chinese included."""
    app = fastagi_controller.app
    caller = await choose(fastagi_controller, ami, recorder, "1")
    joined = await caller.queued()
    assert joined.var("HOTLINE_CATEGORY") == "咨询投诉求助"
    row = await call_row(app, caller.caller)
    assert row.route == "queue" and row.category == "咨询投诉求助"
    agi = caller.agi_commands()
    assert any(plays(c, prompt(app, "day_menu")) for c in agi), agi
    hand_offs = [c for c in agi if c.startswith(("EXEC MSet", "SET VARIABLE HOTLINE"))]
    assert len(hand_offs) == 1 and hand_offs[0].startswith("EXEC MSet"), agi
    assert f"HOTLINE_PROMPT={prompt(app, 'to_seat')}," in hand_offs[0]


async def test_the_route_prompt_is_heard_on_the_way_to_the_queue(
    controller: TestServer, ami: AMIClient, recorder: Recorder, settings: Settings
) -> None:
    """The dialplan, not the IVR, plays the route's own prompt (正在为您转接人工服务)
    once the IVR has handed the call off: the caller hears it, then joins the queue."""
    app = controller.app
    to_seat = prompt(app, "to_seat")
    caller = await IvrCaller(ami, recorder, listen="route-prompt").dial()
    began = await recorder.wait_for(
        ev.Newexten,
        lambda e: e.context == "sim-listener" and e.application == "MixMonitor" and e.caller_id_num == caller.caller,
        timeout=20,
    )
    await caller.wait_prompt(prompt(app, "day_menu"))
    await caller.press("1")
    said = await recorder.wait_for(
        ev.Newexten, lambda e: e.channel == caller.inner and f"Playback({to_seat})" in e.app_data, timeout=30
    )
    joined = await caller.queued()
    await ami.action("Hangup", Channel=caller.inner)
    heard = settings.recordings_dir / "sim-heard-route-prompt.wav"
    await eventually(lambda: heard.is_file() and heard.stat().st_size > 44, timeout=15)
    assert rms_between(heard, began, said, joined) > 0.01
    assert not any(plays(c, to_seat) for c in caller.agi_commands())


async def test_no_key_reaches_a_seat(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    caller = await IvrCaller(ami, recorder).dial()
    await caller.queued(timeout=60)
    row = await call_row(controller.app, caller.caller)
    assert any(s["node"] == "day_menu" and s["key"] == "" for s in row.ivr_path)
    assert not caller.heard(prompt(controller.app, "day_menu", "timeout_prompt"))


async def test_a_key_typed_during_the_welcome_skips_the_menu(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    caller = await IvrCaller(ami, recorder).dial()
    await caller.wait_prompt(prompt(app, "welcome"))
    await caller.press("1")
    await caller.queued()
    assert not caller.heard(prompt(app, "day_menu"))
    row = await call_row(app, caller.caller)
    assert row.category == "咨询投诉求助"
    assert any(s["node"] == "day_menu" and s["key"] == "1" for s in row.ivr_path)


async def test_star_and_hash_stop_a_prompt_like_any_key(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """* and # stop the prompt playing and are the caller's answer (a wrong
    one here), as any key does. Swallowed, * would leave the menu playing on
    to the seat, and # the wrong-key prompt playing on to the menu again."""
    await star_and_hash(controller, ami, recorder)


async def test_star_and_hash_stop_a_prompt_over_fastagi(
    fastagi_controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """The same over FastAGI (ivr.engine = fastagi, and every node the
    dialplan hands over): the IVR plays with CONTROL STREAM FILE, whose own
    keys for skipping ahead and back must never swallow * and #."""
    await star_and_hash(fastagi_controller, ami, recorder)
    assert recorder.of(ev.AGIExecStart, lambda e: e.command.startswith("CONTROL STREAM FILE "))


async def star_and_hash(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    app = controller.app
    wrong = prompt(app, "day_menu", "invalid_prompt")
    caller = await choose(controller, ami, recorder, "*")
    await caller.wait_prompt(wrong, timeout=15)
    await caller.press("#")  # during 您的按键有误: a second wrong key
    await eventually(lambda: caller.times_heard(wrong) == 2, timeout=15)
    await caller.press("1")
    await caller.queued()
    row = await call_row(app, caller.caller)
    assert row.category == "咨询投诉求助"
    assert any(s["node"] == "day_menu" and s["key"] == "1" for s in row.ivr_path), row.ivr_path


async def test_no_key_is_queued_after_one_menu_round_within_the_bound(
    controller: TestServer, ami: AMIClient, recorder: Recorder, settings: Settings
) -> None:
    app = controller.app
    loop = asyncio.get_running_loop()
    caller = await IvrCaller(ami, recorder).dial()
    answered = loop.time()
    await caller.queued(timeout=60)
    # A behaviour, not a benchmark: the bound the validator warns about,
    # which this flow meets with room to spare (bench/time_to_queue.py measures it).
    assert loop.time() - answered < settings.ivr.max_seconds_to_seat
    assert caller.times_heard(prompt(app, "day_menu")) == 1
    assert not caller.heard(prompt(app, "to_seat"))  # "or wait" was said; nothing more


async def test_invalid_keys_retry_then_a_seat(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    app = controller.app
    caller = await IvrCaller(ami, recorder).dial()
    menu = prompt(app, "day_menu")
    for attempt in range(3):
        await eventually(lambda: caller.times_heard(menu) > attempt, timeout=40)
        await caller.press("7")
    await caller.queued()
    assert caller.times_heard(prompt(app, "day_menu", "invalid_prompt")) == 2
    row = await call_row(app, caller.caller)
    assert row.route == "queue" and row.category == ""


async def test_legal_in_lawyer_hours_queues_for_the_lawyers(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    lawyer = await Desk(controller, "seat01", Role.LAWYER).start(ready=False)  # logged in, at a meeting
    try:
        caller = await choose(controller, ami, recorder, "3")
        joined = await caller.queued()
    finally:
        await lawyer.close()
    assert joined.queue == controller.app[SETTINGS].acd.lawyer_queue
    row = await call_row(controller.app, caller.caller)
    assert row.category == "法律咨询"
    assert [s["node"] for s in row.ivr_path][-2:] == ["legal_queue_tag", "lawyer_queue"]


async def test_legal_out_of_hours_leaves_a_message(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock, settings: Settings
) -> None:
    await set_clock(controller, clock, SATURDAY)
    caller = await choose(controller, ami, recorder, "3", speak=True)
    await caller.rec.wait_for(
        ev.AGIExecStart, lambda e: e.channel == caller.inner and e.command.startswith("RECORD FILE"), timeout=40
    )
    await asyncio.sleep(1.5)  # the caller speaks (silence is audio too)
    await caller.press("#")
    await caller.hung_up()
    row = await call_row(controller.app, caller.caller)
    assert row.route == "hangup" and row.category == "法律咨询"
    async with controller.app[SESSIONS]() as db:
        msg = await db.scalar(select(VoiceMessage).where(VoiceMessage.call_id == row.call_id))
    assert msg is not None and msg.category == "法律咨询"
    assert (settings.messages_dir / msg.file).stat().st_size > 8000


async def test_the_official_calendar_a_make_up_saturday_is_worked_and_a_spring_festival_weekday_rests(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    app = controller.app
    acd = app[ACD]
    # 2026-02-14, a Saturday worked for the Spring Festival (调休): the day menu, six lines.
    await set_clock(controller, clock, dt.datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI))
    caller = await IvrCaller(ami, recorder).dial()
    await caller.wait_prompt(prompt(app, "day_menu"), timeout=30)
    await eventually(lambda: (acd.lines.window, acd.lines.target) == ("day", 6), timeout=10)
    # 2026-02-17, a Tuesday of the Spring Festival: the holiday branch and the holiday lines.
    await set_clock(controller, clock, dt.datetime(2026, 2, 17, 10, 0, tzinfo=SHANGHAI))
    rest = await IvrCaller(ami, recorder).dial()
    await rest.wait_prompt(prompt(app, "night_menu"), timeout=30)
    assert not rest.heard(prompt(app, "day_menu"))
    await eventually(lambda: acd.lines.window == "holiday", timeout=10)
    assert acd.lines.target == app[SETTINGS].acd.holiday_lines
    row = await call_row(app, rest.caller)
    assert any(s["node"] == "shift" and "节假日" in str(s) for s in row.ivr_path), row.ivr_path


async def test_a_voice_message_is_stored_only_with_its_work_item(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock, settings: Settings
) -> None:
    """A hook on the recorded message fails after the work queue's own made
    the item: the message and its item go together, neither is left alone,
    and the recording stays on disk. Before, the work policy sat inside the
    AGI driver and a failure was only logged."""
    await set_clock(controller, clock, SATURDAY)
    driver = controller.app[DRIVER]

    async def refuse(_: object) -> None:
        raise RuntimeError("a subscriber refuses the message (injected)")

    driver.on_message(refuse)  # after the work queue's hook, registered at start
    caller = await choose(controller, ami, recorder, "3", speak=True)
    await caller.rec.wait_for(
        ev.AGIExecStart, lambda e: e.channel == caller.inner and e.command.startswith("RECORD FILE"), timeout=40
    )
    await asyncio.sleep(1.5)
    await caller.press("#")
    await caller.hung_up()
    await eventually(lambda: driver.store_failures == 1, timeout=20)
    async with controller.app[SESSIONS]() as db:
        assert (await db.scalars(select(VoiceMessage))).all() == []
        assert (await db.scalars(select(WorkItem).where(WorkItem.kind == "legal"))).all() == []
    # The recording itself is kept (the log names it) for whoever repairs the store.
    assert [
        f
        for f in settings.messages_dir.glob("*-1.wav")
        if time.time() - f.stat().st_mtime < 120 and f.stat().st_size > 8000
    ]


async def test_ticket_progress_is_read_back(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    app = controller.app
    async with app[SESSIONS]() as db, db.begin():
        db.add(Ticket(number="20261125007", status="dispatched", caller="13800000000"))
    caller = await choose(controller, ami, recorder, "9")
    await caller.wait_prompt(prompt(app, "ticket_query"))
    await caller.press("20261125007#")
    status_file = app[FLOWS].current().system["status:dispatched"]
    await caller.wait_prompt(status_file)
    await caller.wait_prompt(prompt(app, "after_query"))
    await caller.press("0")
    await caller.queued()
    row = await call_row(app, caller.caller)
    assert ("ticket_query", "20261125007") in [(s["node"], s["key"]) for s in row.ivr_path]
    assert ("ticket_status", "dispatched") in [(s["node"], s["key"]) for s in row.ivr_path]


async def test_unknown_ticket_number(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    app = controller.app
    caller = await choose(controller, ami, recorder, "9")
    await caller.wait_prompt(prompt(app, "ticket_query"))
    await caller.press("99999999#")
    await caller.wait_prompt(prompt(app, "ticket_status", "not_found_prompt"))


async def test_night_variant_under_a_fixed_clock(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    await set_clock(controller, clock, NIGHT)
    app = controller.app
    caller = await choose(controller, ami, recorder, "2", menu="night_menu")  # 2 exists by day only
    assert not caller.heard(prompt(app, "day_menu"))
    await caller.wait_prompt(prompt(app, "night_menu", "invalid_prompt"))
    await caller.press("1")
    await caller.queued()
    row = await call_row(app, caller.caller)
    assert ("shift", "其他时间") in [(s["node"], s["key"]) for s in row.ivr_path]
    assert row.category == "咨询投诉求助"


async def test_emergency_notice_on_and_off(
    controller: TestServer, ami: AMIClient, recorder: Recorder, admin: Api
) -> None:
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        status, body = await lead.request(
            "PUT", "/api/ivr/announcement", json={"active": True, "text": "因暴雨，地铁二号线暂停运营。"}
        )
        assert status == 200 and body["active"] is True
        notice = controller.app[ANNOUNCEMENTS].current_file()
        assert notice
        on = await IvrCaller(ami, recorder).dial()
        await on.wait_prompt(notice)
        await on.wait_prompt(prompt(controller.app, "day_menu"))
        status, body = await lead.request("PUT", "/api/ivr/announcement", json={"active": False, "text": ""})
        assert status == 200 and body["active"] is False
        off = await IvrCaller(ami, recorder).dial()
        await off.wait_prompt(prompt(controller.app, "day_menu"))
        assert not off.heard(notice)
        status, body = await lead.request("PUT", "/api/ivr/announcement", json={"active": True, "text": " "})
        assert status == 400 and body["error_id"] == "bad-request"
    finally:
        await lead.close()


async def test_publish_during_a_call_changes_nothing_for_it(
    controller: TestServer, ami: AMIClient, recorder: Recorder, admin: Api
) -> None:
    app = controller.app
    old_menu = prompt(app, "day_menu")
    before = await IvrCaller(ami, recorder).dial()
    await before.wait_prompt(old_menu)
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    v1 = flow["current_version"]
    # v2: key 1 now says goodbye instead of reaching a seat.
    changed = flow["draft"].replace('"1": consult\n      "2": car_move', '"1": goodbye\n      "2": car_move')
    changed = changed.replace("咨询投诉按1，挪车", "新版菜单。挪车")
    assert changed != flow["draft"]
    status, body = await admin.request("PUT", "/api/ivr/flows/hotline/draft", json={"document": changed})
    assert status == 200 and body["problems"] == []
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/publish")
    assert status == 200 and body["version"] == v1 + 1
    await before.press("1")
    await before.queued()  # the call in progress keeps v1: 1 still reaches a seat
    assert (await call_row(app, before.caller)).flow_version == v1

    after = await IvrCaller(ami, recorder).dial()
    await after.wait_prompt(prompt(app, "day_menu"))
    assert prompt(app, "day_menu") != old_menu
    await after.press("1")
    await after.hung_up()
    row = await call_row(app, after.caller)
    assert row.flow_version == v1 + 1 and row.route == "hangup"

    # Roll back to v1: the next caller hears the old menu again.
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/rollback", json={"version": v1})
    assert status == 200 and body["current_version"] == v1
    assert prompt(app, "day_menu") == old_menu
    status, body = await admin.request("GET", "/api/ivr/flows/hotline/audit")
    actions = [a["action"] for a in body["audit"]]
    assert actions[:3] == ["rollback", "publish", "save_draft"]
    publish_entry = body["audit"][1]
    assert publish_entry["actor"].startswith("admin-") and '+      "1": goodbye' in publish_entry["diff"]


async def test_killing_fastagi_mid_menu_sends_the_caller_to_the_queue(
    fastagi_controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """ivr.engine = fastagi: the IVR's server dies during the menu."""
    controller = fastagi_controller
    menu = prompt(controller.app, "day_menu")
    with wave.open(str(controller.app[SETTINGS].prompts_dir / f"{menu.rsplit('/', 1)[-1]}.wav")) as w:
        menu_seconds = w.getnframes() / w.getframerate()
    caller = await IvrCaller(ami, recorder).dial()
    await caller.wait_prompt(menu)
    loop = asyncio.get_running_loop()
    killed = loop.time()
    await controller.app[FASTAGI].close()  # the IVR server dies during the menu
    await caller.queued(timeout=menu_seconds + 10)
    # The menu plays on to its end (Asterisk does not watch the connection
    # during CONTROL STREAM FILE), then the static route takes the caller
    # within 2 s; the margin is for a loaded machine.
    assert loop.time() - killed < menu_seconds + 2.0 + 2.0


async def test_with_the_controller_stopped_the_flow_in_the_dialplan_goes_on(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    """The flow written as dialplan serves callers while the controller is
    down: the menu, the key, the category, the queue. Once the schedule
    windows it was last told of expire, a time switch asks the controller,
    and with nobody there the static route queues the caller (never a day
    menu at night)."""
    app = controller.app
    menu = prompt(app, "day_menu")
    await controller.close()
    caller = await choose(controller, ami, recorder, "2")
    joined = await caller.queued()
    assert joined.var("HOTLINE_CATEGORY") == "挪车"
    await ami.action("Setvar", Variable="HOTLINE_CAL_UNTIL", Value="1000")  # long past
    late = await IvrCaller(ami, recorder).dial()
    joined = await late.queued(timeout=30)
    assert late.heard(prompt(app, "welcome")) and not late.heard(menu)
    fallback = await ami.action("Getvar", Channel=joined.channel, Variable="HOTLINE_FALLBACK")
    assert fallback.get("Value") == "1"


async def test_a_caller_who_hangs_up_in_the_ivr_is_recorded_once_with_the_path_so_far(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    app = controller.app
    gone = await IvrCaller(ami, recorder).dial()
    await gone.wait_prompt(prompt(app, "day_menu"))
    await ami.action("Hangup", Channel=gone.outer)
    row = await call_row(app, gone.caller)
    assert row.route == "hangup-in-ivr"
    assert [s["node"] for s in row.ivr_path] == ["welcome", "notice", "shift"]
    # One handed on to the queue and hanging up there is the queue's: the
    # IVR reports it once.
    queued = await choose(controller, ami, recorder, "1")
    joined = await queued.queued()
    await ami.action("Hangup", Channel=queued.outer)
    await queued.hung_up()
    call_id = joined.var("HOTLINE_CALLID")
    reports = recorder.of(ev.HotlineIvr, lambda e: e.call_id == call_id)
    assert [e.route for e in reports] == ["queue"]
    assert (await call_row(app, queued.caller)).route == "queue"


async def test_a_restarted_controller_keeps_the_version_a_caller_is_still_in(
    pbx: Pbx, settings: Settings, clock: Clock, tmp_path: Path, migrated: Path, ami: AMIClient, recorder: Recorder
) -> None:
    async def publish(app: Any, old: str, new: str) -> int:
        flows = app[FLOWS]
        draft = (await flows.get(MAIN_FLOW))["draft"]
        assert old in draft
        assert await flows.save_draft(MAIN_FLOW, draft.replace(old, new, 1), actor="admin") == []
        return int(await flows.publish(MAIN_FLOW, actor="admin"))

    async with running_controller(settings, clock, tmp_path, migrated) as first:
        # A day menu that waits long for a key: the caller is in it across the restart.
        waiting = await publish(first.app, "    timeout: 1\n", "    timeout: 60\n")
        caller = await IvrCaller(ami, recorder).dial()
        await caller.wait_prompt(prompt(first.app, "day_menu"))
        newer = await publish(first.app, "label: 日间主菜单", "label: 日间服务菜单")
    async with running_controller(settings, clock, tmp_path, migrated, restart=True) as second:
        flows = second.app[FLOWS]
        assert flows.current().version == newer
        await second.app[DIALPLAN].sync()
        assert not recorder.of(ev.QueueCallerJoin, lambda e: e.caller_id_num == caller.caller)
        await caller.press("1")
        joined = await caller.queued()
        assert joined.var("HOTLINE_CATEGORY") == "咨询投诉求助"
        row = await call_row(second.app, caller.caller)
        assert row.flow_version == waiting and row.route == "queue"
        assert next(s for s in row.ivr_path if s["node"] == "day_menu")["label"] == "日间主菜单"


async def test_transfer_node_dials_the_outside_number(
    controller: TestServer, ami: AMIClient, recorder: Recorder, admin: Api
) -> None:
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    doc = (
        flow["draft"]
        .replace('"2": car_move', '"2": police')
        .replace("  to_seat:\n", '  police:\n    type: transfer\n    number: "110"\n  to_seat:\n')
    )
    status, body = await admin.request("PUT", "/api/ivr/flows/hotline/draft", json={"document": doc})
    assert body["problems"] == [{"node": "car_move", "message": "从起始节点无法到达此节点"}]
    doc = doc.replace("  car_move:\n    type: tag\n    label: 挪车\n    category: 挪车\n    next: to_seat\n", "")
    await admin.request("PUT", "/api/ivr/flows/hotline/draft", json={"document": doc})
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/publish")
    assert status == 200, body
    try:
        await choose(controller, ami, recorder, "2")
        await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith("Local/110@sim-pstn"), timeout=30)
    finally:
        await admin.request("POST", "/api/ivr/flows/hotline/rollback", json={"version": 1})


async def test_invalid_flow_is_refused_with_reasons(controller: TestServer, admin: Api) -> None:
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    current = flow["current_version"]
    tail = (
        "\n    timeout: 1\n    retries: 2\n    timeout_next: waited\n    default: to_seat\n"
        "    invalid_prompt: 您的按键有误，请重新选择。\n    timeout_prompt: 您没有按键。\n  night_menu"
    )
    bad = (
        flow["draft"]
        .replace('"9": ticket_query', '"9": nowhere')
        .replace('"0": to_seat' + tail, '"0": to_seat\n      "10": to_seat' + tail)
    )
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/validate", json={"document": bad})
    assert status == 200 and body["valid"] is False
    messages = {(p["node"], p["message"]) for p in body["problems"]}
    assert ("day_menu", "出口（9）指向不存在的节点 'nowhere'") in messages
    assert ("day_menu", "按键 '10' 无效：只能是 0-9、* 或 # 中的一个") in messages
    status, body = await admin.request("PUT", "/api/ivr/flows/hotline/draft", json={"document": bad})
    assert status == 200 and body["saved"] is True  # work in progress is kept
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/publish")
    assert status == 422 and body["error_id"] == "ivr-flow-invalid"
    assert any(p["message"].startswith("出口（9）") for p in body["details"]["problems"])
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    assert flow["current_version"] == current  # nothing was published
    status, body = await admin.request("PUT", "/api/ivr/flows/hotline/draft", json={"document": "name: [x"})
    assert status == 200 and body["problems"][0]["message"].startswith("YAML 格式错误")
    status, body = await admin.request("PUT", "/api/ivr/flows/hotline/draft", data=b"not json")
    assert status == 400


async def test_only_admins_edit_flows(controller: TestServer) -> None:
    agent = await Api(controller).login_as(Role.AGENT)
    lead = await Api(controller).login_as(Role.LEAD)
    anonymous = Api(controller)
    try:
        for api, expected in ((agent, 403), (lead, 403), (anonymous, 401)):
            status, body = await api.request("GET", "/api/ivr/flows")
            assert status == expected
            status, _ = await api.request("POST", "/api/ivr/flows/hotline/publish")
            assert status == expected
        status, _ = await agent.request("GET", "/admin/ivr")
        assert status == 403
        status, _ = await anonymous.request("GET", "/admin/ivr")
        assert status == 302
        status, _ = await agent.request("PUT", "/api/ivr/announcement", json={"active": False, "text": ""})
        assert status == 403
    finally:
        for api in (agent, lead, anonymous):
            await api.close()


async def test_a_slow_way_to_a_seat_is_a_warning_not_a_refusal(controller: TestServer, admin: Api) -> None:
    _, flow = await admin.request("GET", "/api/ivr/flows/hotline")
    assert flow["warnings"] == []  # the shipped flow reaches a seat in about 12 s
    long_menu = "咨询投诉按1，挪车按2，法律咨询按3，查工单按9，人工按0或稍候。" * 3
    slow = flow["draft"].replace(
        "prompt: 咨询投诉按1，挪车按2，法律咨询按3，查工单按9，人工按0或稍候。", f"prompt: {long_menu}"
    )
    assert slow != flow["draft"]
    status, body = await admin.request("POST", "/api/ivr/flows/hotline/validate", json={"document": slow})
    assert status == 200 and body["valid"] and body["problems"] == []
    assert len(body["warnings"]) == 1 and "day_menu" in body["warnings"][0]["message"]
    assert "秒" in body["warnings"][0]["message"]
