"""The ACD against the real PBX: simulated seats and callers through app_queue."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.pbx.process import Pbx
from hotline.roles import Role
from hotline.server import KEEPER, create_app
from hotline.web.keys import SETTINGS
from tests.integration.conftest import Clock
from tests.integration.floor import acd, iface, members, queue_caller, staff, takers
from tests.integration.floor import equals as _equals
from tests.integration.floor import member_paused as _member_paused
from tests.integration.helpers import Recorder, eventually
from tests.integration.ivr_helpers import Api

pytestmark = pytest.mark.pbx


async def test_ten_callers_six_lines(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 8)
    await eventually(lambda: takers(ami), timeout=10)
    assert await eventually(lambda: _equals(takers(ami), {iface(i) for i in range(1, 7)}))
    # Membership changes land one by one: wait for the seventh seat too.
    assert await eventually(lambda: _member_paused(ami, iface(7), "工单处理"))
    callers = []
    for _ in range(10):
        callers.append(await queue_caller(ami))
        await asyncio.sleep(0.3)
    await eventually(lambda: len(recorder.of(ev.AgentConnect)) >= 6, timeout=20)
    # Every caller reached the queue (the other four had their chance at a seat)...
    await eventually(
        lambda: len(recorder.of(ev.QueueCallerJoin, lambda e: e.caller_id_num in callers)) == 10, timeout=20
    )
    await asyncio.sleep(1.5)
    # ...and no seventh seat took one.
    connected = recorder.of(ev.AgentConnect)
    assert len(connected) == 6
    assert {e.interface for e in connected} == {iface(i) for i in range(1, 7)}
    assert {e.caller_id_num for e in connected} == set(callers[:6])  # first come, first served
    status = await ami.list_action("QueueStatus", Queue="hotline")
    waiting = sorted((e for e in status.events if isinstance(e, ev.QueueEntry)), key=lambda e: e.position)
    assert [e.caller_id_num for e in waiting] == callers[6:]
    assert [e.position for e in waiting] == [1, 2, 3, 4]
    floor = acd(controller).floor_view()
    assert floor["waiting"]["count"] == 4
    assert sum(1 for s in floor["seats"] if s["status"] == "talking") == 6


async def test_night_window_staffs_two_lines(controller: TestServer, ami: AMIClient, clock: Clock) -> None:
    await staff(controller, 6)
    await eventually(lambda: _equals(takers(ami), {iface(i) for i in range(1, 7)}))
    clock.now = clock.now.replace(hour=22)
    await eventually(lambda: _equals(takers(ami), {iface(1), iface(2)}), timeout=5)
    lines = acd(controller).floor_view()["lines"]
    assert (lines["window"], lines["target"], lines["staffed"]) == ("default", 2, 2)
    assert any(c["kind"] == "lines" and "6 → 2" in c["detail"] for c in acd(controller).floor_view()["changes"])


async def test_a_pausing_line_agent_is_replaced(controller: TestServer, ami: AMIClient) -> None:
    await staff(controller, 8)
    await eventually(lambda: _equals(takers(ami), {iface(i) for i in range(1, 7)}))
    await acd(controller).pause("seat03", "meal", "agent03")
    await eventually(lambda: _equals(takers(ami), {iface(i) for i in (1, 2, 4, 5, 6, 7)}))
    m = (await members(ami))[iface(3)]
    assert m.paused and m.paused_reason == "用餐"


async def test_a_paused_seat_is_never_offered_a_call(
    controller: TestServer, ami: AMIClient, recorder: Recorder
) -> None:
    await staff(controller, 2)
    await acd(controller).pause("seat01", "break", "agent01")
    await eventually(lambda: _equals(takers(ami), {iface(2)}))
    for _ in range(3):
        await queue_caller(ami)
    await recorder.wait_for(ev.AgentConnect)
    await asyncio.sleep(4)  # a ring cycle for the other two callers
    assert not recorder.of(ev.AgentCalled, lambda e: e.interface == iface(1))


async def test_after_call_work_holds_the_seat(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    first = await queue_caller(ami)
    connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == first)
    await ami.action("Hangup", Channel=connect.channel)
    await recorder.wait_for(ev.AgentComplete)
    await eventually(lambda: acd(controller).floor.seats["seat01"].status().value == "wrapup")
    m = await eventually(lambda: _member_paused(ami, iface(1), "话后处理"))
    assert m
    second = await queue_caller(ami)
    # In the queue, with the only seat in after-call work: a ring cycle passes unrung.
    await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == second)
    await asyncio.sleep(3)
    assert not recorder.of(ev.AgentCalled, lambda e: e.caller_id_num == second)
    clock.now += dt.timedelta(seconds=31)  # the wrap-up timer runs out
    await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == second, timeout=10)


async def test_agent_ends_after_call_work(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    caller = await queue_caller(ami)
    connect = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == caller)
    await ami.action("Hangup", Channel=connect.channel)
    await eventually(lambda: _member_paused(ami, iface(1), "话后处理"))
    acd(controller).end_wrapup("seat01", "agent01")
    await eventually(lambda: _equals(takers(ami), {iface(1)}))


async def test_two_unanswered_rings_pause_the_seat(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await ami.action("Setvar", Variable="SIM_RING", Value="30")  # the phone rings and rings
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    await queue_caller(ami)
    await eventually(lambda: len(recorder.of(ev.AgentRingNoAnswer)) >= 2, timeout=20)
    await eventually(lambda: _member_paused(ami, iface(1), "未接听"), timeout=5)
    assert acd(controller).floor.seats["seat01"].status().value == "paused"


async def test_standby_joins_after_15s_wait_and_leaves_after_calm(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock
) -> None:
    await staff(controller, 2, standby=[2])
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    assert await eventually(lambda: _member_paused(ami, iface(2), "备班"))
    busy = await queue_caller(ami)
    await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == busy)
    waiting = await queue_caller(ami)
    await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == waiting)
    await asyncio.sleep(1.5)
    assert iface(2) not in await takers(ami)  # one waiting caller, not long yet
    clock.now += dt.timedelta(seconds=16)
    await recorder.wait_for(
        ev.AgentConnect, lambda e: e.caller_id_num == waiting and e.interface == iface(2), timeout=10
    )
    lines = acd(controller).floor_view()["lines"]
    assert lines["standby_active"] and "15" in lines["standby_reason"]
    # The calm period starts when the controller itself has seen the queue
    # empty (its QueueCallerLeave may trail the AgentConnect seen here).
    await eventually(lambda: acd(controller).lines.calm_since is not None, timeout=5)
    clock.now += dt.timedelta(seconds=61)  # calm: nobody waits any more
    await eventually(lambda: not acd(controller).lines.standby_active, timeout=5)
    kinds = [c["kind"] for c in acd(controller).floor_view()["changes"]]
    assert kinds.count("standby") == 2


@contextlib.asynccontextmanager
async def _started(settings: Settings, own: Settings, clock: Clock) -> AsyncIterator[TestServer]:
    """The controller started again on the same database, synced with the PBX."""
    server = TestServer(create_app(own, clock=clock), host=settings.web.host, port=settings.web.port)
    await server.start_server()
    try:
        await eventually(lambda: server.app[KEEPER].mirror.synced, timeout=15)
        yield server
    finally:
        await server.close()


async def test_controller_restart_rebuilds_membership_without_ghosts(
    pbx: Pbx, settings: Settings, controller: TestServer, ami: AMIClient, clock: Clock
) -> None:
    await staff(controller, 7)
    await acd(controller).pause("seat02", "training", "agent02")
    expected = {iface(i) for i in (1, 3, 4, 5, 6, 7)}
    await eventually(lambda: _equals(takers(ami), expected))
    own = controller.app[SETTINGS]  # same database: the intent survives
    await controller.close()
    # While the controller is down: a stray member appears, a real one vanishes.
    await ami.action("QueueAdd", Queue="hotline", Interface=iface(20), MemberName="ghost")
    await ami.action("QueueRemove", Queue="hotline", Interface=iface(4))
    async with _started(settings, own, clock):
        await eventually(lambda: _equals(takers(ami), expected), timeout=10)
        have = await members(ami)
        assert iface(20) not in have and set(have) == {iface(i) for i in range(1, 8)}
        assert have[iface(2)].paused_reason == "培训"


async def test_the_leads_line_count_and_standby_outlive_a_controller_restart_until_the_window_ends(
    settings: Settings, controller: TestServer, ami: AMIClient, clock: Clock
) -> None:
    await staff(controller, 7, standby=[7])
    await eventually(lambda: _equals(takers(ami), {iface(i) for i in range(1, 7)}))
    lead = await Api(controller).login_as(Role.LEAD)
    try:
        assert (await lead.request("PUT", "/api/acd/lines", json={"count": 3}))[0] == 200
        assert (await lead.request("PUT", "/api/acd/standby", json={"active": True}))[0] == 200
    finally:
        await lead.close()
    three = {iface(i) for i in (1, 2, 3)} | {iface(7)}
    await eventually(lambda: _equals(takers(ami), three))
    own = controller.app[SETTINGS]
    await controller.close()
    # Back within the same day window: the lead's choices, not the schedule's six.
    clock.now += dt.timedelta(hours=2)
    async with _started(settings, own, clock) as again:
        await eventually(lambda: _equals(takers(ami), three), timeout=10)
        lines = acd(again).floor_view()["lines"]
        assert (lines["target"], lines["override"], lines["standby_active"]) == (3, 3, True)
        assert any("重启后沿用值班长设定的线路数 3" in c["detail"] for c in acd(again).floor_view()["changes"])
    # The next morning the window is another one: six lines again; standby
    # stays as the lead left it until they set it back to automatic.
    clock.now += dt.timedelta(days=1)
    async with _started(settings, own, clock) as third:
        await eventually(lambda: _equals(takers(ami), {iface(i) for i in range(1, 8)}), timeout=10)
        lines = acd(third).floor_view()["lines"]
        assert (lines["target"], lines["override"], lines["standby_active"]) == (6, None, True)


async def test_asterisk_restart_reapplies_intent(pbx: Pbx, controller: TestServer, ami: AMIClient) -> None:
    await staff(controller, 3)
    await eventually(lambda: _equals(takers(ami), {iface(i) for i in (1, 2, 3)}))
    await asyncio.to_thread(pbx.stop)
    await asyncio.to_thread(pbx.start)
    fresh = AMIClient(ami.settings, event_filters=[])
    await fresh.start()
    try:
        await fresh.wait_connected(15)
        await eventually(lambda: _equals(takers(fresh), {iface(i) for i in (1, 2, 3)}), timeout=15)
    finally:
        await fresh.close()


async def test_agent_api_and_roles(controller: TestServer, ami: AMIClient) -> None:
    agent = await Api(controller).login_as(Role.AGENT, "api-agent")
    lead = await Api(controller).login_as(Role.LEAD, "api-lead")
    try:
        status, body = await agent.request("POST", "/api/agent/login", json={"seat": "seat05"})
        assert status == 200 and body["status"] == "paused" and body["pause_reason"] == "未就绪"
        await eventually(lambda: _member_paused(ami, iface(5), "未就绪"))  # logged in, not offered calls yet
        status, body = await agent.request("POST", "/api/agent/ready")
        assert status == 200 and body["seat"] == "seat05" and body["status"] == "ready"
        await eventually(lambda: _equals(takers(ami), {iface(5)}))
        status, body = await agent.request("POST", "/api/agent/pause", json={"reason": "meeting"})
        assert status == 200 and body["status"] == "paused" and body["pause_reason"] == "会议"
        await eventually(lambda: _member_paused(ami, iface(5), "会议"))
        status, body = await agent.request("POST", "/api/agent/pause", json={"reason": "nap"})
        assert status == 409 and body["error_id"] == "seat-refused"
        status, _ = await agent.request("GET", "/api/acd/floor")
        assert status == 403
        status, body = await lead.request("PUT", "/api/acd/lines", json={"count": 0})
        assert status == 200 and body["target"] == 0
        status, body = await lead.request("PUT", "/api/acd/lines", json={"count": "six"})
        assert status == 400
        status, body = await agent.request("POST", "/api/agent/logout")
        assert status == 200
        await eventually(lambda: _equals(members(ami), {}))
    finally:
        await agent.close()
        await lead.close()


async def test_figures_over_24_hours_with_queue_log_and_metrics(
    controller: TestServer, ami: AMIClient, recorder: Recorder, clock: Clock, pbx: Pbx
) -> None:
    from hotline.credentials import ensure_secrets

    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    # One answered call from a legacy number, one caller who gives up after 6 s.
    await ami.action(
        "Originate",
        Channel="Local/s@hotline-fallback",
        Application="Wait",
        Data="600",
        CallerID="<13688880001>",
        Variable="__HOTLINE_TAG=城建",
        Async="true",
    )
    talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == "13688880001")
    gone = await queue_caller(ami, "13688880002")
    join = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == gone)
    await asyncio.sleep(6)  # Asterisk's own hold time counts: really wait
    await ami.action("Hangup", Channel=join.channel)
    await recorder.wait_for(ev.QueueCallerAbandon)
    await ami.action("Hangup", Channel=talk.channel)
    await eventually(lambda: acd(controller).floor.seats["seat01"].status().value == "wrapup")
    clock.now += dt.timedelta(seconds=12)  # the ticket takes twelve seconds
    acd(controller).end_wrapup("seat01", "agent01")

    async def figures_ready() -> dict | None:
        f = await acd(controller).figures()
        t = f["total"]
        return (
            f
            if t["offered"] == 2 and t["answered"] == 1 and t["abandoned"] == 1 and t["after_call_s"] is not None
            else None
        )

    try:
        f = await eventually(figures_ready)
    except AssertionError:
        raise AssertionError(f"figures never settled: {(await acd(controller).figures())['total']}") from None
    total = f["total"]
    assert total["connection_rate"] == 0.5 and total["answered_within_15s"] == 1
    assert total["after_call_s"] == 12.0 and total["aht_s"] >= 12.0
    assert total["abandoned_long"] == 1 and total["abandoned_short"] == 0
    assert f["by_tag"]["城建"]["answered"] == 1 and f["by_seat"]["seat01"]["answered"] == 1
    assert sum(h["offered"] for h in f["hourly"]) == 2

    lead = await Api(controller).login_as(Role.LEAD)
    try:
        status, body = await lead.request("GET", "/api/acd/figures")
        assert status == 200 and body["total"]["offered"] == 2
        status, text = await lead.request("GET", "/metrics")
        assert status == 200
        assert 'hotline_figure_24h{figure="connection_rate",key="",scope="total"} 0.5' in text
        assert 'hotline_figure_24h{figure="answered",key="城建",scope="tag"} 1.0' in text
    finally:
        await lead.close()
    settings = controller.app[SETTINGS]
    token = ensure_secrets(settings)["metrics_token"]
    scraper = Api(controller)
    try:
        status, _ = await scraper.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        assert status == 200
        status, _ = await scraper.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})
        assert status == 401
    finally:
        await scraper.close()
    queue_log = (pbx.paths.log / "queue_log").read_text()
    assert f"|hotline|{iface(1)}|HOTLINECALL|" in queue_log and talk.linkedid in queue_log


async def test_waiting_callers_hear_position_and_wait_in_mandarin(
    controller: TestServer, ami: AMIClient, recorder: Recorder, pbx: Pbx
) -> None:
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    busy = await queue_caller(ami)
    await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == busy)
    log = pbx.paths.messages_log
    start = log.stat().st_size
    await ami.command("core set verbose 3")  # file.c names every file it plays, and its language
    try:
        await queue_caller(ami)
        await queue_caller(ami)

        def heard() -> str:
            text = log.read_text(errors="replace")[start:]
            return text if "queue-callswaiting" in text and "queue-youarenext" in text else ""

        text = await eventually(heard, timeout=20)
    finally:
        await ami.command("core set verbose 2")
    lines = [line for line in text.splitlines() if "Playing" in line]
    assert any("digits/2" in line and "(language 'zh')" in line for line in lines), lines[-10:]
    assert any("queue-callswaiting" in line for line in lines)
