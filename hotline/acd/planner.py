"""The ACD's line plan, recomputed on every change and every tick:
schedule -> line count -> standby -> overflow -> who is on a line, with a
note the lead reads (and the audit keeps) for every change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

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

    def _recompute(self) -> None:
        before_lines, before_floor = self.lines, self.floor
        name, count = ln.window(self.acd, self.calendar, self.clock())
        lines = ln.follow_schedule(self.lines, name, count)
        now = self.now()
        waits = [now - t for t in self.waiting.values()]
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

    def _note_plan(self, before: ln.Lines, before_floor: st.Floor, moved: of.Step) -> None:
        lines = self.lines
        if (lines.window, lines.target) != (before.window, before.target):
            self.note(
                "lines",
                "",
                f"线路数 {before.target} → {lines.target}（{ln.window_text(lines.window)}"
                + ("，值班长调整）" if lines.override is not None else "）"),
            )
        if lines.standby_active != before.standby_active:
            self.note("standby", "", ("备班上线：" if lines.standby_active else "备班下线：") + lines.standby_reason)
        for p in moved.pulled:
            seat = self.floor.seats[p.seat]
            held = f"，手头工单（{seat.working}）暂存" if seat.working else ""
            self.note("overflow-pull", p.seat, f"{seat.agent_name} 被调入话务线路：{self.overflow.reason}{held}")
        for p in moved.released:
            self.note("overflow-release", p.seat, f"{self.floor.seats[p.seat].agent_name} 话务平稳，返回工单处理")
        if self.floor is before_floor:
            return  # nobody moved on or off a line (most recomputes: a call's event)
        before_on = {n for n, s in before_floor.seats.items() if s.on_line}
        after_on = {n for n, s in self.floor.seats.items() if s.on_line}
        for n in sorted(after_on - before_on):
            seat = self.floor.seats[n]
            self.note("line-on", n, f"{seat.agent_name} " + ("接入律师队列" if seat.lawyer else "接入话务线路"))
        for n in sorted(before_on - after_on):
            self.note("line-off", n, "离开律师队列" if self.floor.seats[n].lawyer else "离开话务线路")
