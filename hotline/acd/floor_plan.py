"""The line plan in a cluster: one leader decides it for the whole floor.

Every controller sees the whole floor (shared_floor.py) but only its own
node's callers. Were each to plan for itself, a caller waiting on node B
past the standby threshold would bring standby on at B's controller only,
while the standby seat sat paused in node A's queue where nobody waits, and
nobody would serve that caller; two controllers' overflow would pull two
different agents for one caller. So the leader plans over every node's
waiting callers and publishes its plan with its heartbeat; a follower puts
on a line exactly the seats the plan names and shows its line count,
standby and overflow. A follower that hears no leader plans for itself.

Pure: cluster/seats.py carries the plan from the leader's heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hotline.acd.lines import Lines
from hotline.acd.overflow import Pull
from hotline.seats.state import Floor

_LINES_FIELDS = {f.name: f.type for f in fields(Lines)}


@dataclass(frozen=True, slots=True)
class FloorPlan:
    epoch: int  # the leader's term: of two plans heard, the newer term's counts
    lines: Lines
    on_line: frozenset[str]
    pulled: tuple[Pull, ...] = ()  # on a line because overflow pulled them
    overflow_reason: str = ""


def dump(plan: FloorPlan) -> dict[str, Any]:
    return {
        "epoch": plan.epoch,
        "lines": asdict(plan.lines),
        "on_line": sorted(plan.on_line),
        "pulled": [[p.seat, p.agent, p.at] for p in plan.pulled],
        "overflow_reason": plan.overflow_reason,
    }


def _number(x: object) -> bool:
    return type(x) in (int, float)


def parse(data: object) -> FloorPlan | None:
    """A published plan, or None when it cannot be read (a controller of
    another version): the follower then plans for itself."""
    if not isinstance(data, Mapping):
        return None
    epoch, lines, on_line, pulled = data.get("epoch"), data.get("lines"), data.get("on_line"), data.get("pulled", [])
    if type(epoch) is not int or not isinstance(lines, Mapping) or not isinstance(on_line, list):
        return None
    if not isinstance(pulled, list) or not all(isinstance(s, str) for s in on_line):
        return None
    try:
        kept = {k: v for k, v in lines.items() if k in _LINES_FIELDS}
        parsed = Lines(**kept)
        checks = (
            isinstance(parsed.window, str),
            type(parsed.scheduled) is int,
            parsed.override is None or type(parsed.override) is int,
            parsed.plan is None or type(parsed.plan) is int,
            type(parsed.standby_active) is bool,
            isinstance(parsed.standby_reason, str),
        )
        pulls = tuple(Pull(str(s), str(a), float(at)) for s, a, at in pulled if _number(at))
    except (TypeError, ValueError):
        return None
    if not all(checks):
        return None
    reason = data.get("overflow_reason", "")
    return FloorPlan(epoch, parsed, frozenset(on_line), pulls, reason if isinstance(reason, str) else "")


def newest(plans: list[FloorPlan]) -> FloorPlan | None:
    """The plan of the newest term among those heard (a deposed leader may
    publish one more beat before it knows)."""
    return max(plans, key=lambda p: p.epoch, default=None)


def follow(floor: Floor, on_line: frozenset[str]) -> Floor:
    """The floor with exactly the plan's seats on a line (those logged in here)."""
    if all(s.on_line == (n in on_line and s.logged_in) for n, s in floor.seats.items()):
        return floor
    seats = {
        n: replace(s, on_line=n in on_line and s.logged_in) if s.on_line != (n in on_line and s.logged_in) else s
        for n, s in floor.seats.items()
    }
    return replace(floor, seats=seats)
