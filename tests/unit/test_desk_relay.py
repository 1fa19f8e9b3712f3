"""Desk frames between controllers: what goes on the channel, what comes off it (pure)."""

from __future__ import annotations

import json

from hotline.cluster.calls import asked
from hotline.cluster.desks import PAYLOAD_LIMIT, envelope, opened
from hotline.roles import Role


def test_a_pop_goes_out_and_comes_back_to_the_other_controllers_only() -> None:
    message = {"type": "pop", "seat": "seat01", "caller": "13800138000", "history": [{"number": "T1"}]}
    payload = envelope("a", "zhang", message)
    assert payload is not None
    assert opened("b", payload) == ("zhang", message)
    assert opened("a", payload) is None  # our own, already at our desks


def test_seat_and_work_frames_stay_with_their_controller() -> None:
    assert envelope("a", "zhang", {"type": "seat", "seat": None}) is None
    assert envelope("a", "zhang", {"type": "work", "items": []}) is None


def test_a_pop_too_big_for_notify_goes_without_its_history() -> None:
    history = [{"number": f"T{i}", "summary": "噪音扰民" * 40} for i in range(40)]
    payload = envelope("a", "zhang", {"type": "pop", "caller": "13800138000", "history": history})
    assert payload is not None and len(payload.encode()) <= PAYLOAD_LIMIT
    assert json.loads(payload)["message"]["history"] == []
    assert envelope("a", "zhang", {"type": "ticket", "notes": "长" * 5000}) is None


def test_a_malformed_frame_is_ignored() -> None:
    for bad in ("", "[]", '{"from": "a"}', json.dumps({"from": "a", "agent": 7, "message": {}})):
        assert opened("b", bad) is None


def test_a_call_control_asked_at_another_controller_is_read_back_exactly() -> None:
    who = {"id": 7, "username": "zhang", "name": "张", "roles": ["agent"]}
    ask = {"kind": "ask", "id": "k", "from": "b", "who": who, "action": "hold", "number": ""}
    got = asked("a", ask)
    assert got is not None
    identity, action, number = got
    assert (identity.username, identity.user_id, identity.roles, action, number) == (
        "zhang",
        7,
        frozenset({Role.AGENT}),
        "hold",
        "",
    )
    assert asked("b", ask) is None  # our own question
    assert asked("a", ask | {"kind": "answer"}) is None
    assert asked("a", ask | {"who": who | {"id": "7"}}) is None
    assert asked("a", ask | {"who": who | {"roles": ["root"]}}) is None
    assert asked("a", ask | {"number": 12345}) is None
    assert asked("a", "hold") is None
