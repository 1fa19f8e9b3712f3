"""The AMI client against the real PBX: each defect DESIGN.md measured in
panoramisk 1.4 is reproduced here and must not happen."""

from __future__ import annotations

import asyncio

import pytest

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.replies import AMIDisconnected, AMIError, AMINotConnected, AMITimeout
from hotline.config import Settings
from hotline.sim import call_in, seat_interface
from tests.integration.conftest import connected_client
from tests.integration.helpers import Recorder

pytestmark = pytest.mark.pbx


async def test_queue_add_returns(ami: AMIClient) -> None:
    # panoramisk read "Added interface to queue" as the start of a list and never returned.
    reply = await ami.action(
        "QueueAdd", Queue="hotline", Interface=seat_interface("seat01"), MemberName="坐席一", timeout=5
    )
    assert reply.get("Message") == "Added interface to queue"
    status = await ami.list_action("QueueStatus", Queue="hotline", timeout=5)
    members = [e for e in status.events if isinstance(e, ev.QueueMember)]
    assert [(m.interface, m.member_name) for m in members] == [(seat_interface("seat01"), "坐席一")]


async def test_async_agi_command_completes(ami: AMIClient, recorder: Recorder) -> None:
    # Asterisk >= 12 answers with AsyncAGIExec (CommandID); panoramisk waited for 'AsyncAGI'.
    await ami.action(
        "Originate", Channel="Local/asyncagi@hotline-selftest", Application="Wait", Data="30", Async="true"
    )
    start = await recorder.wait_for(ev.AsyncAGIStart)
    set_reply = await ami.agi(start.channel, 'SET VARIABLE HOTLINE_PROBE "市民热线"', timeout=5)
    assert set_reply.code == 200
    got = await ami.agi(start.channel, "GET VARIABLE HOTLINE_PROBE", timeout=5)
    assert (got.code, got.result, got.data) == (200, "1", "市民热线")


async def test_play_dtmf_keeps_the_connection(ami: AMIClient, recorder: Recorder) -> None:
    # "DTMF successfully queued" without an Async key dropped panoramisk's connection.
    await ami.action("Originate", Channel="Local/wait@hotline-selftest", Application="Wait", Data="30", Async="true")
    chan = await recorder.wait_for(ev.Newchannel, lambda e: e.channel.endswith(";1"))
    await recorder.wait_for(ev.Newstate, lambda e: e.uniqueid == chan.uniqueid and e.channel_state == 6)
    reply = await ami.action("PlayDTMF", Channel=chan.channel, Digit="5", Duration=100)
    assert "queued" in reply.get("Message")
    await recorder.wait_for(ev.DTMFEnd, lambda e: e.digit == "5")
    pong = await ami.action("Ping", timeout=3)
    assert pong.get("Ping") == "Pong"
    assert ami.connections == 1


async def test_chinese_caller_name_split_across_reads(pbx: object, settings: Settings) -> None:
    # Two-byte reads split every three-byte character; panoramisk lost them ("张三丰" -> "三丰").
    client = await connected_client(settings, read_size=2)
    try:
        recorder = Recorder(client)
        await call_in(client, "13800000001", name="张三丰")
        chan = await recorder.wait_for(ev.NewCallerid, lambda e: e.caller_id_num == "13800000001")
        assert chan.caller_id_name == "张三丰"
    finally:
        await client.close()


async def test_failing_handler_does_not_drop_the_connection(ami: AMIClient, recorder: Recorder) -> None:
    calls: list[str] = []

    def broken(e: ev.Newchannel) -> None:
        calls.append(e.channel)
        raise RuntimeError("handler bug")

    ami.on(ev.Newchannel, broken)
    await call_in(ami, "13800000002")
    await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == "13800000002")
    assert calls, "the broken handler never ran"
    assert ami.dispatcher.handler_errors >= 1
    assert ami.connected and ami.connections == 1
    assert (await ami.action("Ping")).get("Ping") == "Pong"


async def test_pending_action_fails_on_disconnect(pbx: object, settings: Settings, recorder: Recorder) -> None:
    # A synchronous Originate to a seat that rings for 30 s stays pending; it
    # blocks its manager session, so it gets a client of its own.
    client = await connected_client(settings, name="blocking")
    try:
        await client.action("Setvar", Variable="SIM_RING", Value="30")
        pending = asyncio.ensure_future(
            client.action(
                "Originate",
                Channel="Local/seat02@sim-seat",
                Application="Wait",
                Data="1",
                Timeout=30000,
                timeout=60,
                allow_blocking=True,
            )
        )
        # Asterisk has taken the Originate (the seat's channel exists) and not answered it.
        await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith("Local/seat02@sim-seat"), timeout=10)
        assert not pending.done()
        client.drop_connection()
        with pytest.raises(AMIDisconnected):
            await asyncio.wait_for(pending, 5)
        await client.wait_connected(10)  # and it comes back by itself
        assert client.connections == 2
    finally:
        await client.close()


async def test_every_action_has_a_timeout(pbx: object, settings: Settings) -> None:
    client = await connected_client(settings, name="blocking")
    try:
        await client.action("Setvar", Variable="SIM_RING", Value="30")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AMITimeout):
            await client.action(
                "Originate",
                Channel="Local/seat03@sim-seat",
                Application="Wait",
                Data="1",
                Timeout=30000,
                timeout=0.5,
                allow_blocking=True,
            )
        assert loop.time() - started < 5
    finally:
        await client.close()


async def test_synchronous_originate_is_refused(ami: AMIClient) -> None:
    with pytest.raises(AMIError, match="block"):
        await ami.action("Originate", Channel="Local/seat03@sim-seat", Application="Wait", Data="1")
    assert (await ami.action("Ping")).get("Ping") == "Pong"


async def test_actions_while_disconnected_fail_at_once(settings: Settings) -> None:
    client = AMIClient(settings.ami)
    with pytest.raises(AMINotConnected):
        await client.action("Ping")


async def test_events_are_typed(ami: AMIClient, recorder: Recorder) -> None:
    await ami.action("QueueAdd", Queue="hotline", Interface=seat_interface("seat04"), MemberName="坐席四")
    added = await recorder.wait_for(ev.QueueMemberAdded)
    assert isinstance(added.paused, bool) and isinstance(added.penalty, int)
    await ami.action("QueuePause", Queue="hotline", Interface=seat_interface("seat04"), Paused="true", Reason="小休")
    paused = await recorder.wait_for(ev.QueueMemberPause)
    assert (paused.paused, paused.paused_reason, paused.member_name) == (True, "小休", "坐席四")
    # Both events arrived typed, and nothing Asterisk sent on the way was malformed.
    assert not recorder.of(ev.MalformedEvent)


async def test_the_controllers_filters_pass_what_it_handles_and_little_else(
    pbx: object, settings: Settings, ami: AMIClient, recorder: Recorder
) -> None:
    """Asterisk accepts every filter the controller asks for (a refused one
    would silently let every event of its kind through, or none), and they
    shape what arrives: its own Originate's answer and not another session's,
    no device state of Local channels or app_queue's presence devices, none
    of the per-call chatter."""
    filtered = AMIClient(settings.ami)  # the controller's filters (hotline/ami/used.py)
    seen = Recorder(filtered)
    await filtered.start()
    await filtered.wait_connected(15)
    try:
        assert filtered.filters_refused == []
        mine = await filtered.action(
            "Originate", Channel="Local/wait@hotline-selftest", Application="Wait", Data="2", Async="true"
        )
        assert mine.get("Response") == "Success"
        await ami.action("Originate", Channel="Local/wait@hotline-selftest", Application="Wait", Data="2", Async="true")
        # The observer (no filters) sees both answers and the Local devices change.
        await recorder.wait_for(ev.OriginateResponse, lambda e: e.response == "Success")
        await recorder.wait_for(
            ev.OriginateResponse, lambda e: e.response == "Success" and e.raw.get("ActionID").startswith("hotline-")
        )
        await recorder.wait_for(ev.DeviceStateChange, lambda e: e.device.startswith("Local/"))
        # A member paused and back: app_queue's own pause device changes (Queue:hotline_pause_<member>).
        member = {"Queue": "hotline", "Interface": seat_interface("seat05")}
        await ami.action("QueueAdd", **member, MemberName="坐席五")
        await ami.action("QueuePause", **member, Paused="true", Reason="小休")
        await ami.action("QueueRemove", **member)
        await recorder.wait_for(ev.DeviceStateChange, lambda e: e.device.startswith("Queue:hotline_pause_"))
        await seen.wait_for(ev.QueueMemberRemoved, lambda e: e.interface == member["Interface"])
        await recorder.wait_for(ev.Hangup, lambda e: e.channel.startswith("Local/wait@"), timeout=15)
        both_gone = lambda e: e.channel.startswith("Local/wait@")  # noqa: E731
        await seen.wait_for(ev.Hangup, both_gone, timeout=15)
        await asyncio.sleep(1)  # let anything still in flight arrive
        answers = seen.of(ev.OriginateResponse)
        assert len(answers) == 1 and answers[0].raw.get("ActionID").startswith(filtered.action_prefix)
        assert len(seen.of(ev.Newchannel, both_gone)) == 4  # two calls, two halves each
        assert not seen.of(ev.DeviceStateChange, lambda e: e.device.startswith(("Local/", "Queue:")))
        names = {e.raw.get("Event") for e in seen.events}
        assert not names & {"HangupRequest", "VarSet", "Newexten", "SoftHangupRequest", "DialBegin"}, names
        assert len(recorder.of(ev.OriginateResponse)) >= 2
    finally:
        await filtered.close()
