"""Seat states, line assignment and standby, without a PBX."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.acd import lines as ln
from hotline.acd.intent import Fix, desired, diff
from hotline.ami import events as ev
from hotline.ami.mirror import Member
from hotline.ami.protocol import FrameBuffer, Message
from hotline.config import AcdSettings, IvrSettings
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st

ACD = AcdSettings()
TRANSCRIPT = Path(__file__).parent / "transcripts" / "call_answered.ami"


def floor_of(n: int) -> st.Floor:
    return st.Floor.empty({f"seat{i:02d}": f"Local/seat{i:02d}@sim-seat/n" for i in range(1, n + 1)})


def logged(n: int, agents: int, lines: int) -> st.Floor:
    f = floor_of(n)
    for i in range(1, agents + 1):
        f = st.login(f, f"seat{i:02d}", f"a{i}", f"坐席{i}", now=float(i))
    return ln.assign(f, ln.Lines(window="day", scheduled=lines))


def on_line(f: st.Floor) -> list[str]:
    return sorted(n for n, s in f.seats.items() if s.on_line)


def test_exactly_the_scheduled_lines_are_staffed_longest_logged_in_first() -> None:
    f = logged(10, 8, 6)
    assert on_line(f) == [f"seat0{i}" for i in range(1, 7)]
    assert f.seats["seat07"].status() == st.Status.OFF_LINE
    assert f.seats["seat07"].queue_pause() == st.OFF_LINE


def test_a_pausing_line_agent_is_replaced_by_the_next_agent() -> None:
    f = logged(10, 8, 6)
    f = ln.assign(st.pause(f, "seat02", "meal", 100.0), ln.Lines(window="day", scheduled=6))
    assert "seat02" not in on_line(f) and "seat07" in on_line(f) and len(on_line(f)) == 6
    assert f.seats["seat02"].status() == st.Status.PAUSED and f.seats["seat02"].queue_pause() == "用餐"
    # Back from the meal: the line stays with seat07, seat02 does ticket work.
    f = ln.assign(st.ready(f, "seat02", 200.0), ln.Lines(window="day", scheduled=6))
    assert "seat07" in on_line(f) and "seat02" not in on_line(f)


def test_night_keeps_the_busy_and_drops_idle_latest_first() -> None:
    f = logged(10, 6, 6)
    f = st.agent_connected(f, "Local/seat05@sim-seat/n", "138", 50.0)
    f = ln.assign(f, ln.Lines(window="default", scheduled=2))
    assert on_line(f) == ["seat01", "seat05"]  # seat05 is in a call: keeps its line till the end


def test_wrapup_holds_the_line_but_takes_no_calls() -> None:
    f = logged(4, 2, 2)
    f = st.agent_connected(f, "Local/seat01@sim-seat/n", "138", 10.0)
    f = st.agent_completed(f, "Local/seat01@sim-seat/n", 20.0, wrapup_s=30)
    s = f.seats["seat01"]
    assert s.status() == st.Status.WRAPUP and s.queue_pause() == st.WRAPUP and s.on_line
    assert st.tick(f, 49.0).seats["seat01"].status() == st.Status.WRAPUP
    assert st.tick(f, 50.0).seats["seat01"].status() == st.Status.READY
    assert st.end_wrapup(f, "seat01", 25.0).seats["seat01"].status() == st.Status.READY


def test_two_unanswered_rings_pause_the_seat() -> None:
    f = logged(2, 1, 1)
    iface = "Local/seat01@sim-seat/n"
    f = st.ring_no_answer(st.agent_called(f, iface, "138", 1.0), iface, 2.0, 2, "未接听")
    assert f.seats["seat01"].pause == ""
    f = st.ring_no_answer(st.agent_called(f, iface, "139", 3.0), iface, 4.0, 2, "未接听")
    assert f.seats["seat01"].pause == "未接听" and f.seats["seat01"].queue_pause() == "未接听"


def test_login_rules() -> None:
    f = logged(3, 1, 1)
    with pytest.raises(st.SeatError, match="已由"):
        st.login(f, "seat01", "b", "乙", 5.0)
    with pytest.raises(st.SeatError, match="请先退出"):
        st.login(f, "seat02", "a1", "坐席1", 5.0)
    with pytest.raises(st.SeatError, match="未知的暂停原因"):
        st.pause(f, "seat01", "nap", 5.0)
    busy = st.agent_connected(f, "Local/seat01@sim-seat/n", "138", 6.0)
    with pytest.raises(st.SeatError, match="通话中"):
        st.logout(busy, "seat01", 7.0)


def test_standby_joins_on_long_wait_or_crowd_and_leaves_after_calm() -> None:
    lines = ln.Lines(window="day", scheduled=6)
    assert not ln.standby(lines, ACD, 0.0, [3.0, 2.0], staffed=2).standby_active
    on = ln.standby(lines, ACD, 0.0, [16.0], staffed=2)
    assert on.standby_active and "15" in on.standby_reason
    crowd = ln.standby(lines, ACD, 0.0, [1.0, 1.0, 1.0], staffed=2)
    assert crowd.standby_active and crowd.standby_reason == "排队人数多于在岗线路"
    calm = ln.standby(on, ACD, 100.0, [], staffed=3)
    assert calm.standby_active and calm.calm_since == 100.0
    assert ln.standby(calm, ACD, 159.0, [], staffed=3).standby_active
    off = ln.standby(calm, ACD, 160.0, [], staffed=3)
    assert not off.standby_active and off.standby_reason.startswith("话务平稳")


def test_standby_agent_only_on_a_line_while_standby_is_active() -> None:
    f = floor_of(3)
    f = st.login(f, "seat01", "a", "甲", 1.0)
    f = st.login(f, "seat03", "s", "备", 2.0, standby=True)
    lines = ln.Lines(window="day", scheduled=1)
    assert on_line(ln.assign(f, lines)) == ["seat01"]
    assert ln.assign(f, lines).seats["seat03"].queue_pause() == st.STANDBY
    assert on_line(ln.assign(f, replace(lines, standby_active=True))) == ["seat01", "seat03"]


def test_windows_and_override_until_next_window() -> None:
    cal = Calendar.from_settings(IvrSettings(holidays=["2026-10-01"]))
    day = dt.datetime(2026, 11, 25, 10, 0, tzinfo=cal.tz)
    night = dt.datetime(2026, 11, 25, 22, 0, tzinfo=cal.tz)
    assert ln.window(ACD, cal, day) == ("day", 6)
    assert ln.window(ACD, cal, night) == ("default", 2)
    assert ln.window(ACD, cal, dt.datetime(2026, 10, 1, 10, 0, tzinfo=cal.tz)) == ("holiday", 2)
    lines = ln.set_override(ln.follow_schedule(ln.Lines(), "day", 6), 4)
    assert lines.target == 4
    assert ln.follow_schedule(lines, "day", 6).target == 4
    assert ln.follow_schedule(lines, "default", 2).target == 2  # the override lapsed


def test_a_stored_override_is_restored_only_within_its_window_occurrence() -> None:
    cal = Calendar.from_settings(IvrSettings(holidays=["2026-11-26"]))
    at = lambda d, h, m=0: dt.datetime(2026, 11, d, h, m, tzinfo=cal.tz)  # noqa: E731
    set_at = at(24, 10, 17)  # Tuesday, the day window (08:00-20:00)
    kept = ln.restored(ACD, cal, at(24, 19, 59), 3, "day", set_at, None)
    assert (kept.override, kept.override_window) == (3, "day")
    assert ln.follow_schedule(kept, *ln.window(ACD, cal, at(24, 19, 59))).target == 3
    # The window ended at 20:00 (and opened again the next morning): lapsed.
    assert ln.restored(ACD, cal, at(24, 20, 0), 3, "day", set_at, None).override is None
    assert ln.restored(ACD, cal, at(25, 10, 0), 3, "day", set_at, None).override is None
    # A night override lasts across midnight until 08:00.
    night = at(24, 22, 30)
    assert ln.restored(ACD, cal, at(25, 7, 59), 1, "default", night, None).override == 1
    assert ln.restored(ACD, cal, at(25, 8, 0), 1, "default", night, None).override is None
    # The holiday on Thursday is a window of its own: a day override of
    # Wednesday does not carry into it, nor one with a clock gone backwards.
    assert ln.restored(ACD, cal, at(26, 10, 0), 3, "day", at(25, 19, 0), None).override is None
    assert ln.restored(ACD, cal, at(24, 10, 0), 3, "day", set_at, None).override is None
    # Never more than eight days, even where the window has no end.
    endless, plain = ACD.model_copy(update={"windows": []}), Calendar.from_settings(IvrSettings())
    assert (
        ln.restored(endless, plain, at(24, 10, 0) + dt.timedelta(days=7), 4, "default", at(24, 10, 0), None).override
        == 4
    )
    assert (
        ln.restored(endless, plain, at(24, 10, 0) + dt.timedelta(days=9), 4, "default", at(24, 10, 0), None).override
        is None
    )
    # The lead's standby choice stands until they change it.
    assert ln.restored(ACD, cal, at(25, 10, 0), None, "", None, True).standby_manual is True
    assert ln.restored(ACD, cal, at(25, 10, 0), None, "", None, None) == ln.Lines()


def test_reconcile_adds_pauses_and_removes_ghosts() -> None:
    f = logged(4, 2, 1)  # seat01 on the line, seat02 doing ticket work
    member = Member("Local/seat01@sim-seat/n", "坐席1", "Local/seat01@sim-seat/n", "dynamic", 0, True, "小休", 0, False)
    ghost = Member("Local/seat09@sim-seat/n", "x", "", "dynamic", 0, False, "", 0, False)
    static = Member("PJSIP/static", "s", "", "static", 0, False, "", 0, False)
    fixes = diff(desired(f), {m.interface: m for m in (member, ghost, static)})
    assert fixes == [
        Fix("pause", "Local/seat01@sim-seat/n", "坐席1", False, ""),
        Fix("add", "Local/seat02@sim-seat/n", "坐席2", True, st.OFF_LINE),
        Fix("remove", "Local/seat09@sim-seat/n", "x"),
    ]


def test_recorded_call_drives_a_seat_through_ringing_talking_wrapup() -> None:
    _, _, rest = TRANSCRIPT.read_bytes().partition(b"\r\n")
    events = [ev.parse_event(m) for m in FrameBuffer().feed(rest) if isinstance(m, Message) and m.event]
    f = st.Floor.empty({"seat01": "Local/seat01@sim-seat/n"})
    f = st.login(f, "seat01", "wf", "王芳", 0.0)
    f = ln.assign(f, ln.Lines(window="day", scheduled=1))
    seen = []
    for i, e in enumerate(events):
        if isinstance(e, ev.AgentCalled):
            f = st.agent_called(f, e.interface, e.caller_id_num, float(i))
        elif isinstance(e, ev.AgentConnect):
            f = st.agent_connected(f, e.interface, e.caller_id_num, float(i))
        elif isinstance(e, ev.AgentComplete):
            f = st.agent_completed(f, e.interface, float(i), 30)
        else:
            continue
        seen.append(f.seats["seat01"].status())
    assert seen == [st.Status.RINGING, st.Status.TALKING, st.Status.WRAPUP]


def test_a_call_the_pbx_lost_ends_with_after_call_work_and_a_ring_just_stops() -> None:
    f = logged(3, 3, 3)
    f = st.agent_connected(f, "Local/seat01@sim-seat/n", "13800000001", 10.0)
    f = st.agent_called(f, "Local/seat02@sim-seat/n", "13800000002", 10.0)
    f = st.call_vanished(f, "Local/seat01@sim-seat/n", 20.0, wrapup_s=30)
    f = st.call_vanished(f, "Local/seat02@sim-seat/n", 20.0, wrapup_s=30)
    one, two = f.seats["seat01"], f.seats["seat02"]
    assert not one.talking and one.caller == "" and one.wrapup_until == 50.0
    assert not two.ringing and two.caller == "" and two.wrapup_until is None
    assert st.call_vanished(f, "Local/seat03@sim-seat/n", 20.0, wrapup_s=30) is f  # idle: nothing to end


def test_lawyers_are_members_of_the_lawyer_queue_only_and_never_take_a_line() -> None:
    f = floor_of(4)
    f = st.login(f, "seat01", "a1", "坐席1", now=1.0)
    f = st.login(f, "seat02", "lawyer1", "律师1", now=0.5, lawyer=True)  # logged in first
    f = st.login(f, "seat03", "lawyer2", "律师2", now=0.6, lawyer=True)
    f = ln.assign(st.pause(f, "seat03", "meal", 2.0), ln.Lines(window="day", scheduled=2))
    # Two lines wanted, one agent: the lawyers do not fill the gap.
    assert on_line(f) == ["seat01", "seat02"] and ln.staffed_lines(f) == 1 and ln.free_seats(f) == 1
    assert f.seats["seat02"].status() == st.Status.READY
    assert set(desired(f)) == {"Local/seat01@sim-seat/n"}
    lawyers = desired(f, lawyers=True)
    assert set(lawyers) == {"Local/seat02@sim-seat/n", "Local/seat03@sim-seat/n"}
    assert not lawyers["Local/seat02@sim-seat/n"].paused and lawyers["Local/seat03@sim-seat/n"].reason == "用餐"
    fixes = diff(lawyers, {}, "hotline-lawyer")
    assert {(x.kind, x.queue) for x in fixes} == {("add", "hotline-lawyer")}
    # A lawyer never stands by for the hotline's lines either.
    assert not st.login(floor_of(1), "seat01", "l", "律师", now=0.0, standby=True, lawyer=True).seats["seat01"].standby


def test_a_plans_count_holds_across_windows_and_a_leads_override_outranks_it_only_in_its_window() -> None:
    lines = replace(ln.follow_schedule(ln.Lines(), "day", 6), plan=9)
    assert lines.target == 9 and ln.lead_override(lines) is None
    lines = ln.set_override(lines, 4)  # the lead, while the plan runs
    assert lines.target == 4 and ln.lead_override(lines) == (4, "day")
    night = ln.follow_schedule(lines, "default", 2)
    assert night.target == 9  # the lead's count lapsed with its window; the plan's holds on
    assert ln.lead_override(night) is None
    assert replace(night, plan=None).target == 2  # the plan ended: the schedule again
