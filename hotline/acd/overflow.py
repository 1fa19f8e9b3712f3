"""Overflow (溢出): agents in ticket work brought onto a line while the
15-second promise is at risk, and sent back once the queue has been calm.

Pure functions of the floor, the waiting callers and the clock. The target
is at risk when a caller has waited `risk_seconds`, or when the queue model
predicts the callers now waiting will wait longer than `target_seconds`
with the agents now free: the callers beyond the free agents are served at
the rate the lines' agents finish calls (one per `handle_seconds` each).
As many agents are pulled as there are callers no free agent covers,
standby first, then agents without a work item, then the one whose item is
least urgent; never a lawyer, a paused agent, an exempt agent (policy or the
lead) or one already pulled `max_pulls_per_hour` times in the last hour.
They are released (hysteresis) only after nobody has waited for
`calm_seconds`, each after `min_stay_seconds` on the line and never in a call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hotline.config import OverflowSettings
from hotline.seats.state import Floor, Seat

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Pull:
    seat: str
    agent: str
    at: float


@dataclass(frozen=True, slots=True)
class Overflow:
    pulled: tuple[Pull, ...] = ()  # on a line now because of overflow
    recent: tuple[Pull, ...] = ()  # every pull of the last hour (the per-agent cap)
    calm_since: float | None = None
    reason: str = ""  # why the last agents were pulled

    def seats(self) -> frozenset[str]:
        return frozenset(p.seat for p in self.pulled)


@dataclass(frozen=True, slots=True)
class Step:
    overflow: Overflow
    pulled: tuple[Pull, ...] = ()  # brought on now
    released: tuple[Pull, ...] = ()  # sent back now
    gone: tuple[Pull, ...] = ()  # left by themselves (logged out, paused)


def at_risk(cfg: OverflowSettings, waits: list[float], free: int, on_line: int) -> str:
    """Why the target is at risk now ('' when it is not)."""
    if not waits:
        return ""
    longest = max(waits)
    if longest >= cfg.risk_seconds:
        return f"来电已等待 {longest:.0f} 秒"
    uncovered = len(waits) - free
    if uncovered > 0:
        predicted = uncovered * cfg.handle_seconds / max(on_line, 1)
        if predicted > cfg.target_seconds:
            return f"{len(waits)} 人排队、{free} 条线路空闲，预计等待 {predicted:.0f} 秒"
    return ""


def rank(s: Seat) -> tuple[int, int, float]:
    """Who goes onto a line first: no item in hand, then the least urgent
    item (the highest priority number), the longest logged-in among equals."""
    return (1 if s.working else 0, -s.working_priority, s.login_at)


def candidates(floor: Floor, cfg: OverflowSettings, ov: Overflow, exempt: frozenset[str], now: float) -> list[Seat]:
    pulls: dict[str, int] = {}
    for p in ov.recent:
        if now - p.at < HOUR:
            pulls[p.agent] = pulls.get(p.agent, 0) + 1
    out = [
        s
        for s in floor.seats.values()
        if s.available
        and not s.on_line
        and not s.lawyer
        and s.agent not in exempt
        and s.agent not in cfg.exempt
        and pulls.get(s.agent, 0) < cfg.max_pulls_per_hour
    ]
    return sorted(out, key=lambda s: (not s.standby, *rank(s)))


def step(
    ov: Overflow,
    cfg: OverflowSettings,
    floor: Floor,
    now: float,
    waits: list[float],
    free: int,
    on_line: int,
    exempt: frozenset[str] = frozenset(),
) -> Step:
    # A pulled agent who logged out, paused or changed seats is no longer ours to release.
    kept = tuple(p for p in ov.pulled if floor.seats[p.seat].agent == p.agent and floor.seats[p.seat].available)
    gone = tuple(p for p in ov.pulled if p not in kept)
    recent = tuple(p for p in ov.recent if now - p.at < HOUR)
    ov = replace(ov, pulled=kept, recent=recent)
    if not cfg.enabled:
        return Step(replace(ov, pulled=(), calm_since=None), released=kept, gone=gone)
    reason = at_risk(cfg, waits, free, on_line)
    if reason:
        uncovered = max(len(waits) - free, 1)
        new = tuple(Pull(s.name, s.agent, now) for s in candidates(floor, cfg, ov, exempt, now)[:uncovered])
        ov = replace(ov, pulled=kept + new, recent=recent + new, calm_since=None, reason=reason if new else ov.reason)
        return Step(ov, pulled=new, gone=gone)
    if waits or not kept:
        return Step(replace(ov, calm_since=None), gone=gone)
    calm_since = ov.calm_since if ov.calm_since is not None else now
    if now - calm_since < cfg.calm_seconds:
        return Step(replace(ov, calm_since=calm_since), gone=gone)
    going = tuple(
        p
        for p in kept
        if now - p.at >= cfg.min_stay_seconds and not floor.seats[p.seat].talking and not floor.seats[p.seat].ringing
    )
    return Step(replace(ov, pulled=tuple(p for p in kept if p not in going), calm_since=calm_since), released=going)
