"""Callbacks against the real PBX: one that keeps the caller's place, and one
for a caller who gave up (漏接回拨); the seat is rung first, then the citizen."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from hotline.acd.api import ACD, CALLBACKS
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.db.models import Callback
from hotline.web.keys import SESSIONS
from tests.integration.floor import equals as _equals
from tests.integration.floor import iface, queue_caller, staff, takers
from tests.integration.helpers import Recorder, eventually

pytestmark = pytest.mark.pbx


async def callbacks(server: TestServer) -> list[Callback]:
    async with server.app[SESSIONS]() as db:
        return list((await db.scalars(select(Callback).order_by(Callback.id))).all())


async def test_callback_keeps_the_callers_place(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    first = await queue_caller(ami, "13655550001")
    talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == first)
    second = await queue_caller(ami, "13655550002")
    join = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == second)
    third = await queue_caller(ami, "13655550003")
    await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == third)
    # The offer is heard after callback_offer_seconds; the caller presses 1.
    await asyncio.sleep(5.5)
    await ami.action("PlayDTMF", Channel=join.channel[:-1] + "1", Digit="1", Duration=150)
    placeholder = await recorder.wait_for(
        ev.QueueCallerJoin, lambda e: e.caller_id_num == second and e.channel.startswith("Local/cb"), timeout=15
    )
    assert placeholder.position == 1  # in front of the third caller, as the second caller was
    await eventually(lambda: _status(controller, "queued"))
    [cb] = await callbacks(controller)
    assert (cb.kind, cb.number, cb.position) == ("keep-place", second, 1)

    await ami.action("Hangup", Channel=talk.channel)  # the seat's current call ends
    await eventually(lambda: controller.app[ACD].floor.seats["seat01"].status().value == "wrapup")
    controller.app[ACD].end_wrapup("seat01", "agent01")
    seat_takes = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == second, timeout=15)
    assert seat_takes.channel.startswith("Local/cb")  # the seat is on the line first ...
    citizen = await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith(f"Local/{second}@sim-pstn"))
    assert recorder.events.index(seat_takes) < recorder.events.index(citizen)  # ... then the citizen rings
    # The citizen's end (;2 of the simulated line) sees the hotline calling.
    shown = await recorder.wait_for(
        ev.NewCallerid, lambda e: e.channel.startswith(f"Local/{second}@sim-pstn") and e.channel.endswith(";2")
    )
    assert shown.caller_id_num == "12345"
    assert not recorder.of(ev.AgentConnect, lambda e: e.caller_id_num == third)
    await ami.action("Hangup", Channel=seat_takes.channel)
    await eventually(lambda: _status(controller, "reached"), timeout=10)


async def _status(server: TestServer, status: str) -> bool:
    return [c.status for c in await callbacks(server)] == [status]


async def test_a_caller_who_gave_up_is_called_back(controller: TestServer, ami: AMIClient, recorder: Recorder) -> None:
    await staff(controller, 1)
    await eventually(lambda: _equals(takers(ami), {iface(1)}))
    busy = await queue_caller(ami, "13677770001")
    talk = await recorder.wait_for(ev.AgentConnect, lambda e: e.caller_id_num == busy)
    gives_up = await queue_caller(ami, "13677770002")
    join = await recorder.wait_for(ev.QueueCallerJoin, lambda e: e.caller_id_num == gives_up)
    await asyncio.sleep(6)  # longer than callback_abandon_seconds
    await ami.action("Hangup", Channel=join.channel)
    await recorder.wait_for(ev.QueueCallerAbandon)
    await eventually(lambda: _status(controller, "pending"))
    # The dispatcher looked twice since, and found no free line.
    service, rounds = controller.app[CALLBACKS], controller.app[CALLBACKS].rounds
    await eventually(lambda: service.rounds >= rounds + 2, timeout=10)
    assert [c.status for c in await callbacks(controller)] == ["pending"]

    await ami.action("Hangup", Channel=talk.channel)
    await eventually(lambda: controller.app[ACD].floor.seats["seat01"].status().value == "wrapup")
    controller.app[ACD].end_wrapup("seat01", "agent01")
    seat_takes = await recorder.wait_for(
        ev.AgentConnect, lambda e: e.caller_id_num == gives_up and e.channel.startswith("Local/cb"), timeout=15
    )
    citizen = await recorder.wait_for(ev.Newchannel, lambda e: e.channel.startswith(f"Local/{gives_up}@sim-pstn"))
    assert recorder.events.index(seat_takes) < recorder.events.index(citizen)
    await ami.action("Hangup", Channel=seat_takes.channel)
    await eventually(lambda: _status(controller, "reached"), timeout=10)
    f = await controller.app[ACD].figures()
    assert f["total"]["callbacks_made"] == 1 and f["total"]["callbacks_reached"] == 1
    assert f["total"]["offered"] == 2  # the placeholder is not a call offered
