"""How many phone lines are staffed, who is on them, and when standby joins.

Pure functions of the floor, the schedule and the clock. The shift lead may
override the count; the override lasts until the schedule's next window,
across controller restarts (the service stores it, `restored` reads it back).
A running contingency plan's count holds for the whole plan, across windows
(a heating-season plan outlasts the night); a lead's override made while it
runs still outranks it within the override's window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from hotline.acd.overflow import rank
from hotline.config import AcdSettings
from hotline.ivr.schedule import Calendar
from hotline.seats.state import Floor, Seat


@dataclass(frozen=True, slots=True)
class Lines:
    window: str = ""
    scheduled: int = 0
    override: int | None = None
    override_window: str = ""
    plan: int | None = None  # the running contingency plan's count
    standby_active: bool = False
    standby_manual: bool | None = None  # the lead's choice; None: automatic
    standby_reason: str = ""
    calm_since: float | None = None

    @property
    def target(self) -> int:
        if self.override is not None and self.override_window == self.window:
            return self.override
        return self.plan if self.plan is not None else self.scheduled


# What a person reads for a window (the seat map, the change log); a window
# configured under another schedule's name shows that name.
WINDOW_TEXT = {"day": "日间", "default": "夜间", "holiday": "节假日", "lawyer": "律师值班时段"}


def window_text(name: str) -> str:
    return WINDOW_TEXT.get(name, name)


def window(acd: AcdSettings, calendar: Calendar, now: dt.datetime) -> tuple[str, int]:
    """The current window's name and its line count."""
    if calendar.is_holiday(now):
        return "holiday", acd.holiday_lines
    for w in acd.windows:
        if calendar.within(w.schedule, now):
            return w.schedule, w.lines
    return "default", acd.default_lines


def follow_schedule(lines: Lines, name: str, count: int) -> Lines:
    """Enter the current window; an override from an earlier window lapses."""
    if lines.window == name and lines.scheduled == count:
        return lines
    keep = lines.override if lines.override_window == name else None
    return replace(lines, window=name, scheduled=count, override=keep, override_window=name if keep is not None else "")


def set_override(lines: Lines, count: int | None) -> Lines:
    return replace(lines, override=count, override_window=lines.window if count is not None else "")


def lead_override(lines: Lines) -> tuple[int, str] | None:
    """The lead's count and the window it holds in, while it holds."""
    if lines.override is not None and lines.override_window == lines.window:
        return lines.override, lines.window
    return None


# An override is restored only if its window never ended in between; older
# than this it is not looked at (a window with no end, e.g. no windows
# configured at all, would otherwise keep a lead's count for ever).
RESTORE_WITHIN = dt.timedelta(days=8)


def still_in_window(acd: AcdSettings, calendar: Calendar, name: str, since: dt.datetime, now: dt.datetime) -> bool:
    """Whether the window called `name` held at every minute from `since` to
    `now`: the occurrence an override was set in is still the current one.

    Windows start and end on whole minutes, so a look at each minute
    misses none of them."""
    if not since <= now or now - since > RESTORE_WITHIN:
        return False
    t = since
    while t < now:
        if window(acd, calendar, t)[0] != name:
            return False
        t = t.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return window(acd, calendar, now)[0] == name


def restored(
    acd: AcdSettings,
    calendar: Calendar,
    now: dt.datetime,
    count: int | None,
    name: str,
    set_at: dt.datetime | None,
    standby_manual: bool | None,
) -> Lines:
    """The lead's choices as a controller that starts finds them stored: the
    standby choice stands until the lead changes it; the line count only
    while the window it was set in lasts."""
    lines = Lines(standby_manual=standby_manual)
    if count is not None and set_at is not None and still_in_window(acd, calendar, name, set_at, now):
        lines = replace(lines, override=count, override_window=name)
    return lines


def assign(
    floor: Floor, lines: Lines, pulled: frozenset[str] = frozenset(), leaving: frozenset[str] = frozenset()
) -> Floor:
    """Put exactly `target` available agents on the lines (standby on top
    when active, and the seats overflow pulled).

    Agents already on a line keep it (no reshuffle under their feet); free
    places go to agents without a work item in hand first, then the least
    urgent item (the item is parked when one must be taken), then the
    longest logged-in. When there are more holders than lines, idle holders
    leave first: those overflow just released, then the latest to log in;
    an agent in a call keeps the line until the call ends. Lawyers staff
    the lawyer queue whenever they are logged in and not paused, and never
    a phone line of the hotline.
    """
    seats = [s for s in floor.seats.values() if not s.lawyer]
    # s.available, spelled out: this runs on every call event, for every seat.
    regular = [s for s in seats if s.agent and not s.pause and not s.standby and s.name not in pulled]
    holders = [s for s in regular if s.on_line]
    target = lines.target
    keep: list[Seat] = holders
    # Sorted only when someone must leave or join a line: on every call event
    # of a 5,000-seat floor, the two sorts were most of the recompute.
    if len(holders) > target:
        holders.sort(key=lambda s: (s.name in leaving, s.login_at))
        busy = [s for s in holders if s.talking or s.ringing]
        idle = [s for s in holders if not (s.talking or s.ringing)]
        room = max(target - len(busy), 0)
        keep = busy + idle[:room]
    on = {s.name for s in keep}
    if len(on) < target:
        for s in sorted((s for s in regular if not s.on_line), key=rank):
            if len(on) >= target:
                break
            on.add(s.name)
    if lines.standby_active:
        on |= {s.name for s in seats if s.standby and s.available}
    on |= {n for n in pulled if floor.seats[n].available and not floor.seats[n].lawyer}
    on |= {s.name for s in floor.seats.values() if s.lawyer and s.available}
    if all(s.on_line == (n in on) for n, s in floor.seats.items()):
        return floor  # the same floor: nothing moved, nobody is told
    new = {n: (replace(s, on_line=n in on) if s.on_line != (n in on) else s) for n, s in floor.seats.items()}
    return replace(floor, seats=new)


def free_seats(floor: Floor) -> int:
    """Lines that could take a call this moment."""
    return sum(
        1
        for s in floor.seats.values()
        if s.on_line and s.queue_pause() == "" and not s.talking and not s.ringing and not s.lawyer
    )


def staffed_lines(floor: Floor) -> int:
    """Regular lines with an agent on them (standby not counted)."""
    return sum(1 for s in floor.seats.values() if s.on_line and not s.standby and not s.lawyer)


def standby(lines: Lines, acd: AcdSettings, now: float, waits: list[float], staffed: int) -> Lines:
    """Bring standby on when a caller has waited too long or more callers wait
    than there are lines to serve them; release it after a calm period with
    nobody waiting."""
    if lines.standby_manual is not None:
        return replace(
            lines,
            standby_active=lines.standby_manual,
            standby_reason="值班长手动开启" if lines.standby_manual else "值班长手动关闭",
        )
    longest = max(waits, default=0.0)
    if longest > acd.standby_wait_seconds:
        trigger = f"来电等待超过 {acd.standby_wait_seconds:g} 秒"
    elif len(waits) > staffed:
        trigger = "排队人数多于在岗线路"
    else:
        trigger = ""
    if trigger:
        if not lines.standby_active:
            return replace(lines, standby_active=True, standby_reason=trigger, calm_since=None)
        return replace(lines, calm_since=None) if lines.calm_since is not None else lines
    if not lines.standby_active:
        return lines
    if waits:
        return replace(lines, calm_since=None) if lines.calm_since is not None else lines
    if lines.calm_since is None:
        return replace(lines, calm_since=now)
    if now - lines.calm_since >= acd.standby_calm_seconds:
        return replace(lines, standby_active=False, standby_reason="话务平稳，备班释放", calm_since=None)
    return lines
