"""What a contingency plan changes, and what its end restores.

Each knob a plan sets is recorded with the value it had before and the
value the plan gave it. When the plan ends, a knob still at the plan's value
goes back to what it was before; a knob the lead changed while the plan ran
keeps the lead's value (the lead's own decision outlives the plan), and the
end says which ones it left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline.config import Plan

# Knob -> what a person reads.
KNOB_TEXT = {
    "announcement": "应急公告",
    "flow_version": "语音导航版本",
    "lines": "线路数",
    "standby": "备班",
    "overflow": "溢出支援",
}


@dataclass(frozen=True, slots=True)
class Change:
    knob: str
    before: Any
    plan: Any


def wanted(plan: Plan) -> dict[str, Any]:
    """The knobs this plan sets, to the values it sets them to (JSON values)."""
    out: dict[str, Any] = {}
    if plan.announcement:
        out["announcement"] = [True, plan.announcement]
    if plan.flow_version is not None:
        out["flow_version"] = plan.flow_version
    if plan.lines is not None:
        out["lines"] = plan.lines
    if plan.standby is not None:
        out["standby"] = {"on": True, "off": False, "auto": None}[plan.standby]
    if plan.overflow is not None:
        out["overflow"] = plan.overflow
    return out


def changes(plan: Plan, current: dict[str, Any]) -> list[Change]:
    return [Change(k, current.get(k), v) for k, v in wanted(plan).items()]


def restore(recorded: list[Change], current: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(knob -> value to set back, knobs the lead changed meanwhile and keep)."""
    back: dict[str, Any] = {}
    kept: list[str] = []
    for c in recorded:
        if current.get(c.knob) == c.plan:
            if c.before != c.plan:
                back[c.knob] = c.before
        else:
            kept.append(c.knob)
    return back, kept


@dataclass
class Pressure:
    """How long callers have been piling up (a trigger's clock)."""

    since: float | None = None

    def update(self, waiting: int, over: int, now: float) -> float:
        """Seconds the queue has been above `over` without a break."""
        if waiting > over:
            self.since = self.since if self.since is not None else now
            return now - self.since
        self.since = None
        return 0.0
