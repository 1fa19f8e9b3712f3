"""The ticket workflow as a pure table: who may do what, from which status.

accepted ─submit(answered)──────────────────────────────▶ closed
accepted ─submit(dispatched)─▶ dispatched ─feedback─▶ feedback ─revisit(ok)─▶ closed
                               dispatched ─return──▶ returned ─dispatch─▶ dispatched
                                                      feedback ─revisit(not ok)─▶ dispatched (重办)
                                                      feedback ─approve─▶ feedback (审核通过; revisit next)
                                                      feedback ─reject──▶ dispatched (审核退回)
accepted | dispatched | returned ─merge─▶ closed (并单: handled in the ticket it joined)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hotline.errors import HotlineError
from hotline.roles import Role


class Status(str, enum.Enum):
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    FEEDBACK = "feedback"
    CLOSED = "closed"


STATUS_TEXT = {Status.ACCEPTED: "已受理", Status.DISPATCHED: "已派单", Status.RETURNED: "已退回",
               Status.FEEDBACK: "已反馈", Status.CLOSED: "已办结"}
ACTION_TEXT = {"accept": "受理", "answer": "直接答复", "dispatch": "派单", "return": "退单", "feedback": "反馈",
               "revisit": "回访", "reopen": "重办",
               "survey": "满意度评价", "transfer": "转接", "conference": "三方通话",
               "revisit-call": "自动回访电话", "approve": "审核通过", "reject": "审核退回", "merge": "并单",
               "callback": "回拨", "police": "110 联动", "receive": "签收", "note": "现场记录",
               "handover": "转交", "photo": "现场照片"}

# The 5-level 好差评 scale, key pressed = level.
SATISFACTION = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}

_DESK = frozenset({Role.AGENT, Role.LEAD})
_UNIT = frozenset({Role.DEPARTMENT, Role.GRID})


@dataclass(frozen=True, slots=True)
class Rule:
    action: str
    before: frozenset[Status]
    roles: frozenset[Role]
    after: Status


RULES = {
    "answer": Rule("answer", frozenset({Status.ACCEPTED}), _DESK, Status.CLOSED),
    "dispatch": Rule("dispatch", frozenset({Status.ACCEPTED, Status.RETURNED}), _DESK, Status.DISPATCHED),
    "return": Rule("return", frozenset({Status.DISPATCHED}), _UNIT, Status.RETURNED),
    "feedback": Rule("feedback", frozenset({Status.DISPATCHED}), _UNIT, Status.FEEDBACK),
    # 首接负责: the unit that received it stays responsible until it hands it
    # on to another unit (with a reason); signing and on-site notes keep it.
    "receive": Rule("receive", frozenset({Status.DISPATCHED}), _UNIT, Status.DISPATCHED),
    "note": Rule("note", frozenset({Status.DISPATCHED}), _UNIT, Status.DISPATCHED),
    "handover": Rule("handover", frozenset({Status.DISPATCHED}), _UNIT, Status.DISPATCHED),
    # The automated survey call revisits as the system, not as a person.
    "revisit": Rule("revisit", frozenset({Status.FEEDBACK}), _DESK | {Role.ADMIN}, Status.CLOSED),
    "reopen": Rule("reopen", frozenset({Status.FEEDBACK}), _DESK | {Role.ADMIN}, Status.DISPATCHED),
    "approve": Rule("approve", frozenset({Status.FEEDBACK}), _DESK, Status.FEEDBACK),
    "reject": Rule("reject", frozenset({Status.FEEDBACK}), _DESK, Status.DISPATCHED),
    "merge": Rule("merge", frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.RETURNED}), _DESK, Status.CLOSED),
}


class TransitionRefused(HotlineError):
    error_id = "ticket-transition-refused"
    status = 409


class RoleRefused(HotlineError):
    error_id = "ticket-role-refused"
    status = 403


def transition(status: str, action: str, roles: frozenset[Role]) -> Status:
    """The status after `action`, or a refusal that says why in Chinese."""
    rule = RULES.get(action)
    if rule is None:
        raise TransitionRefused(f"未知操作 {action}", action=action)
    if not (roles & rule.roles):
        raise RoleRefused(f"您的角色不能{ACTION_TEXT[action]}", action=action)
    current = Status(status)
    if current not in rule.before:
        raise TransitionRefused(f"工单{STATUS_TEXT[current]}，不能{ACTION_TEXT[action]}", action=action,
                                status=current.value)
    return rule.after


