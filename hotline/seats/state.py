"""Seats, the agents at them, and the lines they staff: pure state.

Every transition is a function from the floor (and an input: an agent's
command, a queue event, the clock) to a new floor; nothing here does I/O.
The ACD service (hotline/acd/service.py) turns the floor into the queue
membership Asterisk must have, and repairs Asterisk until it has it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from hotline.errors import HotlineError

PAUSE_REASONS = {"break": "小休", "meal": "用餐", "training": "培训", "meeting": "会议"}
WRAPUP = "话后处理"
OFF_LINE = "工单处理"  # logged in, not on a line: ticket work, no calls offered
STANDBY = "备班"
NOT_READY = "未就绪"  # logged in at the desk; offered calls once the agent says so
PHONE_LOST = "网页电话断开"  # the desk's browser phone went away: no calls until the agent is back


class SeatError(HotlineError):
    error_id = "seat-refused"
    status = 409


class Status(str, enum.Enum):
    OFFLINE = "offline"
    READY = "ready"
    RINGING = "ringing"
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"
    OFF_LINE = "off_line"
    STANDBY = "standby"


@dataclass(frozen=True, slots=True)
class Seat:
    name: str
    interface: str
    agent: str = ""
    agent_name: str = ""
    login_at: float = 0.0
    standby: bool = False
    pause: str = ""  # the agent's own pause reason (a PAUSE_REASONS value or no-answer)
    wrapup_until: float | None = None
    ringing: bool = False
    talking: bool = False
    caller: str = ""
    since: float = 0.0  # when the shown status began
    no_answer: int = 0
    on_line: bool = False
    # The work item in the agent's hands (its kind's text), when off the
    # lines; the line planner takes agents without one first.
    working: str = ""
    working_priority: int = 0  # its kind's priority (1 is the most urgent); 0: no item
    # A lawyer's seat: a member of the lawyer queue only, never on a phone line.
    lawyer: bool = False

    @property
    def logged_in(self) -> bool:
        return bool(self.agent)

    @property
    def available(self) -> bool:
        """May take a line: logged in and not paused by the agent."""
        return self.logged_in and not self.pause

    def status(self) -> Status:
        if not self.logged_in:
            return Status.OFFLINE
        if self.talking:
            return Status.TALKING
        if self.ringing:
            return Status.RINGING
        if self.wrapup_until is not None:
            return Status.WRAPUP
        if self.pause:
            return Status.PAUSED
        if not self.on_line:
            return Status.STANDBY if self.standby else Status.OFF_LINE
        return Status.READY

    def queue_pause(self) -> str:
        """The pause reason Asterisk must hold for this member ('' = take calls)."""
        if self.pause:
            return self.pause
        if self.wrapup_until is not None:
            return WRAPUP
        if not self.on_line:
            return STANDBY if self.standby else OFF_LINE
        return ""


@dataclass(frozen=True, slots=True)
class Floor:
    seats: dict[str, Seat]
    by_interface: dict[str, str] = field(default_factory=dict)
    # Bumped by every login and logout: who sits where changed only when
    # this did (what follows the sitters need not scan 5,000 seats per call).
    sittings: int = 0

    @classmethod
    def empty(cls, seats: dict[str, str]) -> Floor:
        """seats: name -> queue interface."""
        return cls({n: Seat(n, i) for n, i in seats.items()}, {i: n for n, i in seats.items()})

    def seat(self, name: str) -> Seat:
        try:
            return self.seats[name]
        except KeyError:
            raise SeatError(f"没有座席 {name}") from None

    def with_seat(self, seat: Seat) -> Floor:
        return replace(self, seats={**self.seats, seat.name: seat})

    def seat_of_agent(self, agent: str) -> Seat | None:
        return next((s for s in self.seats.values() if s.agent == agent), None)

    def at_interface(self, interface: str) -> Seat | None:
        name = self.by_interface.get(interface)
        return self.seats.get(name) if name else None


# -- agent commands -------------------------------------------------------------


def login(
    floor: Floor, seat: str, agent: str, agent_name: str, now: float, standby: bool = False, lawyer: bool = False
) -> Floor:
    s = floor.seat(seat)
    if s.logged_in and s.agent != agent:
        raise SeatError(f"座席 {seat} 已由 {s.agent_name or s.agent} 登录")
    other = floor.seat_of_agent(agent)
    if other is not None and other.name != seat:
        raise SeatError(f"您已在座席 {other.name} 登录，请先退出")
    if s.logged_in:
        return floor
    return replace(floor, sittings=floor.sittings + 1).with_seat(
        replace(
            s,
            agent=agent,
            agent_name=agent_name,
            login_at=now,
            standby=standby and not lawyer,
            pause="",
            wrapup_until=None,
            since=now,
            no_answer=0,
            on_line=False,
            lawyer=lawyer,
        )
    )


def logout(floor: Floor, seat: str, now: float) -> Floor:
    s = floor.seat(seat)
    if s.talking:
        raise SeatError("通话中不能退出，请先结束通话")
    return replace(floor, sittings=floor.sittings + 1).with_seat(Seat(s.name, s.interface, since=now))


def pause(floor: Floor, seat: str, reason: str, now: float) -> Floor:
    s = _logged_in(floor, seat)
    label = PAUSE_REASONS.get(reason, reason)
    if label not in PAUSE_REASONS.values():
        raise SeatError(f"未知的暂停原因 {reason}（可用：{'、'.join(PAUSE_REASONS)}）")
    return floor.with_seat(replace(s, pause=label, wrapup_until=None, since=now))


def system_pause(floor: Floor, seat: str, label: str, now: float) -> Floor:
    """A pause the controller decides (not one of the agent's reasons)."""
    return floor.with_seat(replace(_logged_in(floor, seat), pause=label, since=now))


def ready(floor: Floor, seat: str, now: float) -> Floor:
    """Back to work: ends a pause and after-call work."""
    s = _logged_in(floor, seat)
    return floor.with_seat(replace(s, pause="", wrapup_until=None, no_answer=0, since=now))


def _logged_in(floor: Floor, seat: str) -> Seat:
    s = floor.seat(seat)
    if not s.logged_in:
        raise SeatError(f"座席 {seat} 没有登录")
    return s


# -- queue events ---------------------------------------------------------------


def agent_called(floor: Floor, interface: str, caller: str, now: float) -> Floor:
    s = floor.at_interface(interface)
    if s is None:
        return floor
    return floor.with_seat(replace(s, ringing=True, caller=caller, since=now))


def agent_connected(floor: Floor, interface: str, caller: str, now: float) -> Floor:
    s = floor.at_interface(interface)
    if s is None:
        return floor
    return floor.with_seat(
        replace(s, ringing=False, talking=True, caller=caller, no_answer=0, wrapup_until=None, since=now)
    )


def agent_completed(floor: Floor, interface: str, now: float, wrapup_s: float) -> Floor:
    """The call ended: after-call work holds the seat until the ticket is done."""
    s = floor.at_interface(interface)
    if s is None:
        return floor
    until = now + wrapup_s if s.logged_in and wrapup_s > 0 else None
    return floor.with_seat(replace(s, talking=False, ringing=False, caller="", wrapup_until=until, since=now))


def call_vanished(floor: Floor, interface: str, now: float, wrapup_s: float) -> Floor:
    """The PBX no longer has the call a seat was on (it restarted, or the call
    ended while the controller was away): a call in progress ends as if hung
    up, with after-call work; a ring just stops."""
    s = floor.at_interface(interface)
    if s is None or not (s.talking or s.ringing):
        return floor
    if s.talking:
        return agent_completed(floor, interface, now, wrapup_s)
    return floor.with_seat(replace(s, ringing=False, caller="", since=now))


def ring_no_answer(floor: Floor, interface: str, now: float, limit: int, reason: str) -> Floor:
    """Unanswered rings are counted; at the limit the seat is paused with a reason."""
    s = floor.at_interface(interface)
    if s is None:
        return floor
    misses = s.no_answer + 1
    s = replace(s, ringing=False, caller="", no_answer=misses, since=now)
    if s.logged_in and misses >= limit:
        s = replace(s, pause=reason, no_answer=0)
    return floor.with_seat(s)


def set_working(floor: Floor, working: dict[str, tuple[str, int]]) -> Floor:
    """Which seats hold a work item (seat -> what, its priority), from the work queue."""
    seats: dict[str, Seat] | None = None  # copied only when a seat changes (5,000 of them, every round)
    for name, s in floor.seats.items():
        w, priority = working.get(name, ("", 0))
        if s.working != w or s.working_priority != priority:
            if seats is None:
                seats = dict(floor.seats)
            seats[name] = replace(s, working=w, working_priority=priority)
    return replace(floor, seats=seats) if seats is not None else floor


def end_wrapup(floor: Floor, seat: str, now: float) -> Floor:
    s = _logged_in(floor, seat)
    if s.wrapup_until is None:
        return floor
    return floor.with_seat(replace(s, wrapup_until=None, since=now))


def tick(floor: Floor, now: float) -> Floor:
    """After-call work ends by itself when its timer runs out."""
    seats = dict(floor.seats)
    changed = False
    for name, s in floor.seats.items():
        if s.wrapup_until is not None and s.wrapup_until <= now:
            seats[name] = replace(s, wrapup_until=None, since=now)
            changed = True
    return replace(floor, seats=seats) if changed else floor
