"""What a contingency plan changes, and what its end restores.

Each knob a plan sets is recorded with the value it had before and the
value the plan gave it. When the plan ends, a knob still at the plan's value
goes back to what it was before; a knob the lead changed while the plan ran
keeps the lead's value (the lead's own decision outlives the plan), and the
end says which ones it left.
"""

from __future__ import annotations

from collections.abc import Callable
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
    "callback_offer": "排队回拨提示",
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
    if plan.callback_offer_seconds is not None:
        out["callback_offer"] = plan.callback_offer_seconds
    return out


def describe(plan: Plan) -> list[str]:
    """What the plan sets, as a person reads it ("线路数 8", "备班 开启")."""
    text: dict[str, Callable[[Any], str]] = {
        "announcement": lambda v: f"「{v[1][:20]}{'…' if len(v[1]) > 20 else ''}」",
        "flow_version": lambda v: f"第 {v} 版",
        "lines": str,
        "standby": lambda v: {True: "开启", False: "关闭", None: "自动"}[v],
        "overflow": lambda v: "开启" if v else "关闭",
        "callback_offer": lambda v: f"每 {v} 秒" if v else "不提示",
    }
    return [f"{KNOB_TEXT[k]} {text[k](v)}" for k, v in wanted(plan).items()]


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
