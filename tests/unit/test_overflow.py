"""Overflow's rules without a PBX: when the 15-second promise is at risk,
who is pulled onto a line and in what order, and when they go back."""

from __future__ import annotations

from dataclasses import replace

from hotline.acd import lines as ln
from hotline.acd import overflow as of
from hotline.config import OverflowSettings
from hotline.seats import state as st

CFG = OverflowSettings(risk_seconds=10, target_seconds=15, handle_seconds=120, calm_seconds=60, min_stay_seconds=180)


def floor(n: int = 6, lines: int = 2) -> st.Floor:
    f = st.Floor.empty({f"s{i}": f"Local/s{i}@sim-seat/n" for i in range(1, n + 1)})
    for i in range(1, n + 1):
        f = st.login(f, f"s{i}", f"a{i}", f"坐席{i}", now=float(i))
    return ln.assign(f, ln.Lines(window="default", scheduled=lines))


def on(f: st.Floor) -> list[str]:
    return sorted(n for n, s in f.seats.items() if s.on_line)


def test_the_target_is_at_risk_when_a_caller_has_waited_or_the_model_predicts_a_long_wait() -> None:
    assert of.at_risk(CFG, [], free=0, on_line=2) == ""
    assert of.at_risk(CFG, [3.0], free=1, on_line=2) == ""  # a free line covers the caller
    assert "等待 11 秒" in of.at_risk(CFG, [11.0], free=0, on_line=2)
    # Two callers, both lines busy: the second waits ~ 2 x 120 s / 2 lines, far past 15 s.
    assert "预计等待 120 秒" in of.at_risk(CFG, [1.0, 0.5], free=0, on_line=2)
    # Twenty lines busy, one caller: ~6 s expected, no risk yet.
    assert of.at_risk(CFG, [1.0], free=0, on_line=20) == ""


def test_as_many_agents_as_uncovered_callers_are_pulled_no_item_first_then_the_least_urgent() -> None:
    f = floor()
    assert on(f) == ["s1", "s2"]
    f = st.set_working(f, {"s3": ("回拨", 1), "s4": ("回访", 5), "s5": ("审核", 4)})
    # s6 holds nothing; then s4's revisit (5) and s5's review (4) before s3's callback (1).
    got = of.step(of.Overflow(), CFG, f, 100.0, [12.0, 8.0, 4.0], free=0, on_line=2)
    assert [p.seat for p in got.pulled] == ["s6", "s4", "s5"]
    assert got.overflow.reason == "来电已等待 12 秒"
    f = ln.assign(f, ln.Lines(window="default", scheduled=2), got.overflow.seats())
    assert on(f) == ["s1", "s2", "s4", "s5", "s6"]


def test_standby_comes_first_and_lawyers_paused_and_exempt_agents_never() -> None:
    f = floor()
    f = st.logout(f, "s6", 9.0)
    f = st.login(f, "s6", "sb", "备班", now=9.0, standby=True)
    f = st.pause(f, "s3", "break", 10.0)
    f = st.logout(f, "s5", 9.0)
    f = st.login(f, "s5", "law", "律师", now=9.0, lawyer=True)
    cfg = CFG.model_copy(update={"exempt": ["a4"]})
    got = of.step(of.Overflow(), cfg, f, 100.0, [20.0] * 5, free=0, on_line=2)
    assert [p.seat for p in got.pulled] == ["s6"]  # the standby; s3 paused, s4 exempt, s5 a lawyer
    # The lead's own list works the same way.
    got = of.step(of.Overflow(), CFG, f, 100.0, [20.0] * 5, free=0, on_line=2, exempt=frozenset({"a4"}))
    assert [p.seat for p in got.pulled] == ["s6"]


def test_pulled_agents_go_back_only_after_calm_and_their_minimum_stay_never_in_a_call() -> None:
    f = floor()
    got = of.step(of.Overflow(), CFG, f, 100.0, [12.0], free=0, on_line=2)
    ov = got.overflow
    f = ln.assign(f, ln.Lines(window="default", scheduled=2), ov.seats())
    assert on(f) == ["s1", "s2", "s3"]
    # A caller still waits (not at risk): hysteresis, nobody goes.
    ov = of.step(ov, CFG, f, 150.0, [2.0], free=1, on_line=3).overflow
    assert ov.seats() == {"s3"} and ov.calm_since is None
    # Quiet from 200: not before 260 (calm) and 280 (the stay).
    for t in (200.0, 259.0, 270.0):
        got = of.step(ov, CFG, f, t, [], free=3, on_line=3)
        ov = got.overflow
        assert got.released == ()
    busy = f.with_seat(replace(f.seats["s3"], talking=True))
    assert of.step(ov, CFG, busy, 290.0, [], free=2, on_line=3).released == ()
    got = of.step(ov, CFG, f, 290.0, [], free=3, on_line=3)
    assert [p.seat for p in got.released] == ["s3"] and got.overflow.pulled == ()
    f = ln.assign(f, ln.Lines(window="default", scheduled=2), got.overflow.seats(), frozenset({"s3"}))
    assert on(f) == ["s1", "s2"]  # the released agent leaves, not the last to log in


def test_an_agent_is_pulled_at_most_the_cap_times_an_hour() -> None:
    cfg = CFG.model_copy(update={"max_pulls_per_hour": 2, "min_stay_seconds": 0, "calm_seconds": 1})
    f = floor(n=3, lines=2)
    ov = of.Overflow()
    pulls = 0
    for t in range(0, 600, 20):
        got = of.step(ov, cfg, f, float(t), [12.0], free=0, on_line=2)
        pulls += len(got.pulled)
        ov = of.step(got.overflow, cfg, f, t + 5.0, [], free=3, on_line=3).overflow
        ov = of.step(ov, cfg, f, t + 10.0, [], free=3, on_line=3).overflow
    assert pulls == 2
    # An hour after the first pull, a third is allowed.
    assert len(of.step(ov, cfg, f, 3601.0, [12.0], free=0, on_line=2).pulled) == 1


def test_an_agent_who_logs_out_leaves_the_pulled_list_and_overflow_off_pulls_nobody() -> None:
    f = floor()
    ov = of.step(of.Overflow(), CFG, f, 100.0, [12.0], free=0, on_line=2).overflow
    f = st.logout(f, "s3", 101.0)
    got = of.step(ov, CFG, f, 101.0, [], free=2, on_line=2)
    assert [p.seat for p in got.gone] == ["s3"] and got.overflow.pulled == ()
    off = CFG.model_copy(update={"enabled": False})
    assert of.step(of.Overflow(), off, f, 100.0, [30.0] * 4, free=0, on_line=2).pulled == ()
