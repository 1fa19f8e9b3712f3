"""A lead's spy on a seat whose call another node carries: what the lead's
controller asks, what the carrying node does and says back (the AMI client
and the ACD are stand-ins: the calls themselves are tested against the PBX
in tests/integration/test_edge_seats.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.ami import events as ev
from hotline.ami.protocol import Message
from hotline.identity import Identity
from hotline.roles import Role
from hotline.seatmap.supervision import MonitorBusy, SeatElsewhere, Supervision
from hotline.seats import state as st
from tests.conftest import make_settings

LEAD = Identity(1, "wang", "王组长", frozenset({Role.LEAD}))
OTHER_LEAD = Identity(2, "li", "李组长", frozenset({Role.LEAD}))


class Client:
    def __init__(self) -> None:
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[type, Any] = {}

    def on(self, kind: type, handler: Any) -> None:
        self.handlers[kind] = handler

    async def action(self, name: str, **fields: Any) -> dict[str, str]:
        self.actions.append((name, fields))
        return {}

    def hangup(self, uniqueid: str) -> None:
        self.handlers[ev.Hangup](ev.parse_event(Message((("Event", "Hangup"), ("Uniqueid", uniqueid)))))


class Acd:
    def __init__(self) -> None:
        self.notes: list[tuple[str, str, str]] = []

    def seat_named(self, name: str) -> st.Seat:
        return st.Seat(name=name, interface=f"PJSIP/{name}", agent="agent02", talking=True)

    def now(self) -> float:
        return 100.0

    def note(self, kind: str, seat: str, detail: str, actor: str = "") -> None:
        self.notes.append((kind, seat, detail))


def node(
    tmp_path: Path, name: str, carrying: str | None
) -> tuple[Supervision, Client, list[tuple[str, dict[str, str]]]]:
    settings = make_settings(tmp_path / name, seats={"phones": "pjsip"})
    client = Client()
    sup = Supervision(settings, client, Acd())  # type: ignore[arg-type]
    asked: list[tuple[str, dict[str, str]]] = []
    sup.node = name
    sup.elsewhere = lambda seat: carrying
    sup.ask = lambda to, said: asked.append((to, said))
    return sup, client, asked


async def test_the_lead_at_b_asks_a_and_a_runs_the_spy_and_says_when_it_ended(tmp_path: Path) -> None:
    b, b_client, b_asked = node(tmp_path, "b", carrying="a")
    a, a_client, a_asked = node(tmp_path, "a", carrying=None)
    spy = await b.start(LEAD, "seat02", "listen", "monitor01")
    assert spy.node == "a" and b_client.actions == []  # nothing rung at b's PBX
    [(to, said)] = b_asked
    assert to == "a" and said["op"] == "start" and said["seat"] == "seat02" and said["ref"] == spy.ref
    await a.serve("b", said)
    [(name, fields)] = a_client.actions
    assert name == "Originate" and fields["ChannelId"] == spy.ref and fields["Data"] == "PJSIP/seat02,qE"
    # Another channel of the same phone ending (a switch's old one) ends nothing.
    a_client.hangup("spy-a-elsewhere")
    assert a_asked == [] and "monitor01" in a.served
    # Its own channel ends: a tells b, and b's map drops it.
    a_client.hangup(spy.ref)
    assert a_asked == [("b", {"op": "ended", "phone": "monitor01", "ref": spy.ref})]
    await b.serve("a", a_asked[0][1])
    assert b.active == {} and b.acd.notes[-1][0] == "spy-end"  # type: ignore[attr-defined]


async def test_a_stop_reaches_the_node_running_the_spy(tmp_path: Path) -> None:
    b, _, b_asked = node(tmp_path, "b", carrying="a")
    a, a_client, _ = node(tmp_path, "a", carrying=None)
    spy = await b.start(LEAD, "seat02", "listen", "monitor01")
    await a.serve("b", b_asked[0][1])
    await b.stop(LEAD, "monitor01")
    assert b_asked[-1] == ("a", {"op": "stop", "phone": "monitor01", "ref": spy.ref})
    await a.serve("b", b_asked[-1][1])
    assert a_client.actions[-1][0] == "Hangup"
    # A stop for a spy that is no longer the one running is ignored.
    await a.serve("b", {"op": "stop", "phone": "monitor01", "ref": "spy-b-old"})
    assert len(a_client.actions) == 2


async def test_a_phone_in_use_at_the_carrying_node_is_refused_there_and_the_lead_hears_why(tmp_path: Path) -> None:
    a, a_client, a_asked = node(tmp_path, "a", carrying=None)
    await a.start(OTHER_LEAD, "seat01", "listen", "monitor01")  # a lead at node a uses it
    await a.serve("b", {"op": "start", "phone": "monitor01", "seat": "seat02", "mode": "listen", "ref": "r1"})
    assert len(a_client.actions) == 1  # nothing more rung
    assert a_asked == [("b", {"op": "ended", "phone": "monitor01", "ref": "r1", "why": "busy"})]
    # ...and a lead at a cannot take a phone another node's lead is using through a.
    a2, _, _ = node(tmp_path, "a2", carrying=None)
    await a2.serve("b", {"op": "start", "phone": "monitor01", "seat": "seat02", "mode": "listen", "ref": "r2"})
    with pytest.raises(MonitorBusy):
        await a2.start(OTHER_LEAD, "seat01", "listen", "monitor01")


async def test_without_phones_at_the_edge_a_call_on_another_node_is_refused(tmp_path: Path) -> None:
    b, b_client, _ = node(tmp_path, "b", carrying="a")
    b.ask = None
    with pytest.raises(SeatElsewhere):
        await b.start(LEAD, "seat02", "listen", "monitor01")
    assert b_client.actions == [] and b.active == {}


async def test_an_odd_request_is_ignored(tmp_path: Path) -> None:
    a, a_client, a_asked = node(tmp_path, "a", carrying=None)
    for said in (
        {"op": "start", "phone": "monitor99", "seat": "seat02", "mode": "listen", "ref": "r"},
        {"op": "start", "phone": "monitor01", "seat": "seat02", "mode": "record", "ref": "r"},
        {"op": "dance", "phone": "monitor01"},
        {"op": "ended", "phone": "monitor01", "ref": "r"},
    ):
        await a.serve("b", said)
    assert a_client.actions == [] and a_asked == [] and a.served == {}
