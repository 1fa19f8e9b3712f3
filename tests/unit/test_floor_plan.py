"""The line plan in a cluster: the leader plans over every node's callers,
the others follow its plan (pure, and a planner without a PBX)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hotline.acd import floor_plan as fp
from hotline.acd import lines as ln
from hotline.acd.overflow import Overflow, Pull
from hotline.acd.planner import LinePlanner
from hotline.config import AcdSettings, IvrSettings
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st

NOW = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # 11:00 in the city: the day window


def floor() -> st.Floor:
    return st.Floor.empty({n: f"Local/{n}@hotline-seat/n" for n in ("seat01", "seat02", "seat03")})


def plan(**kw: Any) -> fp.FloorPlan:
    lines = ln.Lines(window="day", scheduled=6, standby_active=True, standby_reason="排队人数多于在岗线路")
    return fp.FloorPlan(
        kw.get("epoch", 3), lines, frozenset(kw.get("on_line", {"seat01", "seat02"})), (Pull("seat02", "li", 90.5),)
    )


def test_a_plan_reads_back_as_it_was_published() -> None:
    p = plan()
    assert fp.parse(json.loads(json.dumps(fp.dump(p)))) == p


def test_an_unreadable_plan_is_none_and_the_follower_plans_for_itself() -> None:
    good = fp.dump(plan())
    assert fp.parse(None) is None
    assert fp.parse("plan") is None
    assert fp.parse(good | {"epoch": "3"}) is None
    assert fp.parse(good | {"epoch": True}) is None
    assert fp.parse(good | {"on_line": "seat01"}) is None
    assert fp.parse(good | {"on_line": [1]}) is None
    assert fp.parse(good | {"lines": good["lines"] | {"scheduled": True}}) is None
    assert fp.parse(good | {"lines": good["lines"] | {"standby_active": "yes"}}) is None
    assert fp.parse(good | {"pulled": [["seat02"]]}) is None
    # A field a newer controller added is ignored, not fatal.
    assert fp.parse(good | {"lines": good["lines"] | {"future": 1}}) == plan()


def test_of_two_plans_heard_the_newer_terms_counts() -> None:
    assert fp.newest([plan(epoch=4), plan(epoch=7, on_line={"seat03"}), plan(epoch=5)]) == plan(
        epoch=7, on_line={"seat03"}
    )
    assert fp.newest([]) is None


def test_a_follower_puts_exactly_the_plans_logged_in_seats_on_a_line() -> None:
    f = st.login(floor(), "seat01", "zhang", "张", 50.0)
    f = st.login(f, "seat03", "wang", "王", 50.0)
    f = ln.assign(f, ln.Lines(scheduled=1, window="day"))
    assert [n for n, s in f.seats.items() if s.on_line] == ["seat01"]
    got = fp.follow(f, frozenset({"seat02", "seat03"}))
    assert {n: s.on_line for n, s in got.seats.items()} == {"seat01": False, "seat02": False, "seat03": True}
    assert fp.follow(got, frozenset({"seat02", "seat03"})) is got


class Planner(LinePlanner):
    def __init__(self) -> None:
        self.acd = AcdSettings()
        self.calendar = Calendar.from_settings(IvrSettings(official_calendar=False))
        self.clock = lambda: NOW
        self.floor = st.login(floor(), "seat01", "zhang", "张", 50.0, standby=True)
        self.lines = ln.Lines()
        self.overflow = Overflow()
        self.overflow_exempt = frozenset()
        self.waiting: dict[str, float] = {}
        self.notes: list[tuple[str, str, bool]] = []
        self.changed = 0

    def now(self) -> float:
        return NOW.timestamp()

    def note(self, kind: str, seat: str, detail: str, actor: str = "", store: bool = True) -> None:
        self.notes.append((kind, detail, store))

    def _changed(self) -> None:
        self.changed += 1


def test_the_leader_brings_standby_on_for_a_caller_waiting_on_another_node() -> None:
    leader = Planner()
    leader._recompute()
    assert not leader.floor.seats["seat01"].on_line  # standby waits for a reason
    # Nobody waits at the leader's node; one caller waits on node b.
    leader.follow_plan(None, (NOW.timestamp() - 3.0,))
    assert leader.lines.standby_active and leader.floor.seats["seat01"].on_line
    assert ("standby", "备班上线：排队人数多于在岗线路", True) in leader.notes
    published = leader.floor_plan(9)
    assert published.on_line == frozenset({"seat01"}) and published.epoch == 9


def test_a_follower_follows_the_leaders_plan_and_leaves_its_notes_to_the_leader() -> None:
    leader = Planner()
    leader.follow_plan(None, (NOW.timestamp() - 3.0,))
    follower = Planner()
    follower.follow_plan(fp.parse(fp.dump(leader.floor_plan(9))), ())
    assert follower.lines.standby_active and follower.floor.seats["seat01"].on_line
    assert follower.notes and all(not stored for _, _, stored in follower.notes)
    # Its own callers change nothing while it follows: the leader counts them.
    follower.waiting = {"c1": NOW.timestamp() - 100.0}
    follower._recompute()
    assert follower.lines == leader.lines
    # No leader heard: it plans for itself again, from where the plan stood.
    follower.waiting = {}
    follower.follow_plan(None, ())
    assert follower.lines.standby_active  # released only after the calm period
