"""FastAGI against the real PBX, and the static route that catches every
caller the controller cannot serve (DESIGN.md, "Fixed points")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.ami.fastagi import AGISession, FastAGIServer, Route
from hotline.config import Settings
from hotline.sim import call_in
from tests.integration.helpers import Recorder

pytestmark = pytest.mark.pbx

# The behaviour is "within 2 s"; the margin absorbs a loaded test machine.
FAIL_OPEN_DEADLINE = 2.0
MARGIN = 2.0


async def _reaches_queue(
    ami: AMIClient, recorder: Recorder, caller: str, *, number: str = "12345"
) -> tuple[float, ev.QueueCallerJoin]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await call_in(ami, caller, number=number)
    joined = await recorder.wait_for(
        ev.QueueCallerJoin, lambda e: e.caller_id_num == caller, timeout=FAIL_OPEN_DEADLINE + MARGIN + 5
    )
    return loop.time() - started, joined


async def test_controller_down_caller_reaches_queue(ami: AMIClient, recorder: Recorder) -> None:
    elapsed, joined = await _reaches_queue(ami, recorder, "13900000001")
    assert joined.queue == "hotline"
    assert elapsed < FAIL_OPEN_DEADLINE + MARGIN, f"took {elapsed:.2f} s"


@contextlib.asynccontextmanager
async def _dies_on_exit(settings: Settings, ivr: Route) -> AsyncIterator[None]:
    """A FastAGI server serving `ivr` that closes, sessions and all, when the block ends."""
    server = FastAGIServer(settings.agi)
    server.route("ivr", ivr)
    await server.start()
    try:
        yield
    finally:
        await server.close()


async def test_controller_dies_mid_ivr_caller_reaches_queue(
    ami: AMIClient, recorder: Recorder, settings: Settings
) -> None:
    entered = asyncio.Event()

    async def dying_ivr(session: AGISession) -> None:
        await session.command("ANSWER")
        entered.set()
        await asyncio.sleep(3600)  # a menu that waits for ever, until the server dies

    async with _dies_on_exit(settings, dying_ivr):  # the controller goes away mid-call
        await call_in(ami, "13900000002")
        await asyncio.wait_for(entered.wait(), 10)
    loop = asyncio.get_running_loop()
    died = loop.time()
    joined = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == "13900000002")
    assert joined.queue == "hotline"
    assert loop.time() - died < FAIL_OPEN_DEADLINE + MARGIN


async def test_controller_dies_during_a_prompt_it_plays_out_then_the_caller_reaches_queue(
    ami: AMIClient, recorder: Recorder, settings: Settings
) -> None:
    """The IVR's prompts are played with CONTROL STREAM FILE, during which
    Asterisk does not watch the connection: a prompt under way when the
    controller dies plays to its end (the caller is never cut off mid-word,
    never in silence), and then the static route queues the caller."""
    playing = asyncio.Event()

    async def dying_ivr(session: AGISession) -> None:
        playing.set()
        await session.play("silence/3", "0123456789*#")
        await asyncio.sleep(3600)

    loop = asyncio.get_running_loop()
    async with _dies_on_exit(settings, dying_ivr):  # the controller goes away mid-prompt
        await call_in(ami, "13900000005")
        await asyncio.wait_for(playing.wait(), 10)
        await recorder.wait_for(
            ev.AGIExecStart, lambda e: e.command.startswith("CONTROL STREAM FILE silence/3"), timeout=10
        )
        began = loop.time()
    died = loop.time()
    joined = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == "13900000005", timeout=15)
    assert joined.queue == "hotline"
    assert loop.time() - began > 2.5  # the 3-s prompt played out
    assert loop.time() - died < 3 + FAIL_OPEN_DEADLINE + MARGIN


async def test_legacy_number_carries_its_tag(ami: AMIClient, recorder: Recorder, settings: Settings) -> None:
    number, tag = next(iter(settings.legacy_numbers.items()))
    seen: dict[str, str] = {}

    async def ivr(session: AGISession) -> None:
        seen["tag"] = await session.get_variable("HOTLINE_TAG")
        seen["callid"] = await session.get_variable("HOTLINE_CALLID")

    server = FastAGIServer(settings.agi)
    server.route("ivr", ivr)
    async with server:
        _, joined = await _reaches_queue(ami, recorder, "13900000003", number=number)
    assert seen["tag"] == tag
    assert joined.uniqueid == seen["callid"]


async def test_plain_function_route_and_commands_complete(
    ami: AMIClient, recorder: Recorder, settings: Settings
) -> None:
    # panoramisk.fast_agi crashed on plain-function routes under Python 3.11.
    results: list[str] = []
    done = asyncio.Event()

    def plain(session: AGISession) -> None:
        results.append(session.channel)
        done.set()

    async def probe(session: AGISession) -> None:
        await session.set_variable("HOTLINE_PROBE", "工单 42")
        results.append(await session.get_variable("HOTLINE_PROBE"))
        reply = await session.command("CHANNEL STATUS")
        results.append(reply.result)
        done.set()

    server = FastAGIServer(settings.agi)
    server.route("selftest", plain)
    async with server:
        await ami.action(
            "Originate", Channel="Local/fastagi@hotline-selftest", Application="Wait", Data="30", Async="true"
        )
        await asyncio.wait_for(done.wait(), 10)
        assert results and results[0].startswith("Local/fastagi@hotline-selftest")
        results.clear()
        done.clear()
        server.route("selftest", probe)
        await ami.action(
            "Originate", Channel="Local/fastagi@hotline-selftest", Application="Wait", Data="30", Async="true"
        )
        await asyncio.wait_for(done.wait(), 10)
    assert results == ["工单 42", "6"]  # 6: channel is up
    assert server.sessions_failed == 0


async def test_caller_hangup_ends_the_agi_session(ami: AMIClient, recorder: Recorder, settings: Settings) -> None:
    outcome: list[str] = []
    started = asyncio.Event()

    async def waits(session: AGISession) -> None:
        started.set()
        try:
            await session.command("WAIT FOR DIGIT 20000")
            outcome.append("digit")
        except Exception as exc:  # noqa: BLE001 - we record which error ended it
            outcome.append(type(exc).__name__)
            raise

    server = FastAGIServer(settings.agi)
    server.route("ivr", waits)
    async with server:
        await call_in(ami, "13900000004")
        await asyncio.wait_for(started.wait(), 10)
        chan = await recorder.wait_for(ev.NewCallerid, lambda e: e.caller_id_num == "13900000004")
        await ami.action("Hangup", Channel=chan.channel)
        for _ in range(100):
            if outcome:
                break
            await asyncio.sleep(0.05)
    assert outcome == ["AGIHangup"]
    assert server.active_sessions == 0
