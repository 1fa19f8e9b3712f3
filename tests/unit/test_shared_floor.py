"""One floor over several controllers: logins stored by one, taken by the others, and calls
other nodes hold shown (pure)."""

from __future__ import annotations

from hotline.acd.shared_floor import with_remote_calls, with_sessions
from hotline.db.models import AgentSession
from hotline.seats import state as st


def floor() -> st.Floor:
    return st.Floor.empty({n: f"Local/{n}@hotline-seat/n" for n in ("seat01", "seat02", "seat03")})


def row(seat: str, agent: str, pause: str = "") -> AgentSession:
    return AgentSession(
        seat=seat, agent=agent, agent_name=agent, login_at=100.0, standby=False, pause=pause, lawyer=False
    )


def test_logins_logouts_and_pauses_stored_elsewhere_are_taken_over() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 50.0)
    f = st.login(f, "seat02", "li", "李", 50.0)
    got = with_sessions(f, [row("seat01", "zhang", pause="小休"), row("seat03", "wang")], 200.0)
    assert got.seats["seat01"].pause == "小休"
    assert not got.seats["seat02"].logged_in
    assert got.seats["seat03"].agent == "wang" and got.seats["seat03"].login_at == 100.0


def test_an_agent_talking_here_is_logged_out_only_after_the_call() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 50.0)
    f = st.agent_connected(f, "Local/seat01@hotline-seat/n", "13800138000", 60.0)
    assert with_sessions(f, [], 200.0).seats["seat01"].logged_in
    # Another agent took the seat elsewhere meanwhile: it waits for the call too.
    assert with_sessions(f, [row("seat01", "li")], 200.0).seats["seat01"].agent == "zhang"


def test_nothing_changes_when_the_rows_say_what_the_floor_holds() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 100.0)
    assert with_sessions(f, [row("seat01", "zhang")], 200.0) == f


def test_seats_another_node_holds_show_its_calls_here() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 50.0)
    f = st.login(f, "seat02", "li", "李", 50.0)
    hosted = frozenset({"seat01"})
    shown, remote = with_remote_calls(f, {"seat02": "talking", "seat01": "ringing"}, hosted, 100.0)
    assert shown.seats["seat02"].status() == st.Status.TALKING and shown.seats["seat02"].since == 100.0
    assert shown.seats["seat01"] == f.seats["seat01"] and remote == {"seat02"}  # ours: our own queue's events say
    # The call ends there: wrap-up, then ready.
    shown, remote = with_remote_calls(shown, {"seat02": "wrapup"}, hosted, 130.0, remote)
    assert shown.seats["seat02"].status() == st.Status.WRAPUP
    shown, remote = with_remote_calls(shown, {}, hosted, 140.0, remote)
    assert shown.seats["seat02"].wrapup_until is None and not shown.seats["seat02"].talking and not remote
    # Talking elsewhere, nobody logs the agent out here.
    shown, remote = with_remote_calls(shown, {"seat02": "talking"}, hosted, 150.0, remote)
    assert with_sessions(shown, [row("seat01", "zhang")], 160.0).seats["seat02"].logged_in


def test_a_seat_that_comes_here_drops_the_call_another_node_showed() -> None:
    f = st.login(floor(), "seat02", "li", "李", 50.0)
    shown, remote = with_remote_calls(f, {"seat02": "wrapup"}, frozenset(), 100.0)
    assert shown.seats["seat02"].wrapup_until is not None
    here, remote = with_remote_calls(shown, {"seat02": "wrapup"}, frozenset({"seat02"}), 101.0, remote)
    seat = here.seats["seat02"]
    assert seat.wrapup_until is None and not seat.talking and not seat.ringing
    assert not remote


def test_a_call_of_this_node_stays_when_its_seat_is_placed_elsewhere_meanwhile() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 50.0)
    f = st.agent_connected(f, "Local/seat01@hotline-seat/n", "13800138000", 60.0)
    shown, remote = with_remote_calls(f, {}, frozenset(), 100.0)
    assert shown.seats["seat01"].talking and not remote


def test_a_seat_another_node_holds_shows_who_it_talks_to_until_the_call_ends() -> None:
    f = st.login(floor(), "seat02", "li", "李", 50.0)
    callers = {"seat02": "13800138000"}
    shown, remote = with_remote_calls(f, {"seat02": "ringing"}, frozenset(), 100.0, callers=callers)
    assert shown.seats["seat02"].caller == "13800138000" and shown.seats["seat02"].ringing
    shown, remote = with_remote_calls(shown, {"seat02": "talking"}, frozenset(), 104.0, remote, callers)
    assert shown.seats["seat02"].caller == "13800138000" and shown.seats["seat02"].since == 104.0
    # The same call a beat later: nothing changes, not even when it began.
    again, remote = with_remote_calls(shown, {"seat02": "talking"}, frozenset(), 105.0, remote, callers)
    assert again == shown
    ended, remote = with_remote_calls(again, {"seat02": "wrapup"}, frozenset(), 130.0, remote, {})
    assert ended.seats["seat02"].caller == "" and ended.seats["seat02"].status() == st.Status.WRAPUP
