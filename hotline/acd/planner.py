"""The ACD's line plan, recomputed on every change and every tick:
schedule -> line count -> standby -> overflow -> who is on a line, with a
note the lead reads (and the audit keeps) for every change. In a cluster
the leader plans over every node's callers and the others follow its plan
(floor_plan.py)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from hotline.acd import floor_plan as fp
from hotline.acd import lines as ln
from hotline.acd import overflow as of
from hotline.config import AcdSettings
from hotline.ivr.schedule import Calendar
from hotline.seats import state as st


class LinePlanner:
    """The AcdService's planner (a base class: it changes its floor and lines)."""

    acd: AcdSettings
    calendar: Calendar
    clock: Callable[[], dt.datetime]
    floor: st.Floor
    lines: ln.Lines
    overflow: of.Overflow
    overflow_exempt: frozenset[str]
    waiting: dict[str, float]
    note: Callable[..., None]
    now: Callable[[], float]
    _changed: Callable[[], None]
    # In a cluster: when the callers waiting on the other nodes joined, and
    # the leader's plan while another controller leads.
    remote_waits: tuple[float, ...] = ()
    leader_plan: fp.FloorPlan | None = None

    def follow_plan(self, plan: fp.FloorPlan | None, remote_waits: tuple[float, ...]) -> None:
        """After each heartbeat: the leader's plan (None: plan here) and the
        other nodes' waiting callers."""
        if (plan, remote_waits) != (self.leader_plan, self.remote_waits):
            self.leader_plan, self.remote_waits = plan, remote_waits
            self._recompute()

    def floor_plan(self, epoch: int) -> fp.FloorPlan:
        """The plan as this controller made it, for the others to follow."""
        on = frozenset(n for n, s in self.floor.seats.items() if s.on_line)
        return fp.FloorPlan(epoch, self.lines, on, self.overflow.pulled, self.overflow.reason)

    def _recompute(self) -> None:
        if self.leader_plan is not None:
            self._follow_leader(self.leader_plan)
            return
        before_lines, before_floor = self.lines, self.floor
        name, count = ln.window(self.acd, self.calendar, self.clock())
        lines = ln.follow_schedule(self.lines, name, count)
        now = self.now()
        waits = [now - t for t in (*self.waiting.values(), *self.remote_waits)]
        lines = ln.standby(lines, self.acd, now, waits, ln.staffed_lines(self.floor))
        lines_now = [s for s in self.floor.seats.values() if s.on_line and not s.lawyer]
        # A seat ringing covers the caller it rings for: only talking or paused ones are taken.
        covering = sum(1 for s in lines_now if s.queue_pause() == "" and not s.talking)
        moved = of.step(
            self.overflow, self.acd.overflow, self.floor, now, waits, covering, len(lines_now), self.overflow_exempt
        )
        self.lines, self.overflow = lines, moved.overflow
        self.floor = ln.assign(
            self.floor, lines, moved.overflow.seats(), frozenset(p.seat for p in moved.released + moved.gone)
        )
        self._note_plan(before_lines, before_floor, moved)
        self._changed()

    def _follow_leader(self, plan: fp.FloorPlan) -> None:
        before_lines, before_floor, before = self.lines, self.floor, self.overflow.seats()
        # The lead's own choices (kept in the shared intent row) reach the
        # leader within a heartbeat; until then the leader's plan shows.
        self.lines = plan.lines
        self.overflow = of.Overflow(plan.pulled, self.overflow.recent, reason=plan.overflow_reason)
        self.floor = fp.follow(self.floor, plan.on_line)
        now = frozenset(p.seat for p in plan.pulled)
        moved = of.Step(
            self.overflow,
            pulled=tuple(p for p in plan.pulled if p.seat not in before and p.seat in self.floor.seats),
            released=tuple(of.Pull(s, "", 0.0) for s in sorted(before - now) if s in self.floor.seats),
        )
        # The leader stores these notes for the whole floor; a follower's
        # lead reads them on its own change log only.
        self._note_plan(before_lines, before_floor, moved, store=False)
        self._changed()

    def _note_plan(self, before: ln.Lines, before_floor: st.Floor, moved: of.Step, store: bool = True) -> None:
        lines = self.lines
        note = self.note if store else functools.partial(self.note, store=False)
        if (lines.window, lines.target) != (before.window, before.target):
            note(
                "lines",
                "",
                f"线路数 {before.target} → {lines.target}（{ln.window_text(lines.window)}"
                + ("，值班长调整）" if lines.override is not None else "）"),
            )
        if lines.standby_active != before.standby_active:
            note("standby", "", ("备班上线：" if lines.standby_active else "备班下线：") + lines.standby_reason)
        for p in moved.pulled:
            seat = self.floor.seats[p.seat]
            held = f"，手头工单（{seat.working}）暂存" if seat.working else ""
            note("overflow-pull", p.seat, f"{seat.agent_name} 被调入话务线路：{self.overflow.reason}{held}")
        for p in moved.released:
            note("overflow-release", p.seat, f"{self.floor.seats[p.seat].agent_name} 话务平稳，返回工单处理")
        if self.floor is before_floor:
            return  # nobody moved on or off a line (most recomputes: a call's event)
        before_on = {n for n, s in before_floor.seats.items() if s.on_line}
        after_on = {n for n, s in self.floor.seats.items() if s.on_line}
        for n in sorted(after_on - before_on):
            seat = self.floor.seats[n]
            note("line-on", n, f"{seat.agent_name} " + ("接入律师队列" if seat.lawyer else "接入话务线路"))
        for n in sorted(before_on - after_on):
            note("line-off", n, "离开律师队列" if self.floor.seats[n].lawyer else "离开话务线路")
