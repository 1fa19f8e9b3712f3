"""The ticket workflow as pure tables: who may do what, from which status
(RULES), and what each action after the desk changes on the ticket (ACTIONS).

accepted ─submit(answered)──────────────────────────────▶ closed
accepted ─submit(dispatched)─▶ dispatched ─feedback─▶ feedback ─revisit(ok)─▶ closed
                               dispatched ─return──▶ returned ─dispatch─▶ dispatched
                                                      feedback ─revisit(not ok)─▶ dispatched (重办)
                                                      feedback ─approve─▶ feedback (审核通过; revisit next)
                                                      feedback ─reject──▶ dispatched (审核退回)
accepted | dispatched | returned ─merge─▶ closed (并单: handled in the ticket it joined)
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hotline.errors import BadRequest, HotlineError
from hotline.roles import Role


class Status(str, enum.Enum):
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    FEEDBACK = "feedback"
    CLOSED = "closed"


STATUS_TEXT = {
    Status.ACCEPTED: "已受理",
    Status.DISPATCHED: "已派单",
    Status.RETURNED: "已退回",
    Status.FEEDBACK: "已反馈",
    Status.CLOSED: "已办结",
}
ACTION_TEXT = {
    "accept": "受理",
    "answer": "直接答复",
    "dispatch": "派单",
    "return": "退单",
    "feedback": "反馈",
    "revisit": "回访",
    "reopen": "重办",
    "survey": "满意度评价",
    "transfer": "转接",
    "conference": "三方通话",
    "attended": "咨询转接",
    "revisit-call": "自动回访电话",
    "approve": "审核通过",
    "reject": "审核退回",
    "merge": "并单",
    "callback": "回拨",
    "police": "110 联动",
    "receive": "签收",
    "note": "现场记录",
    "handover": "转交",
    "photo": "现场照片",
    "chase": "催办",
    "legal-hold": "法律保全",
    "hold-released": "解除保全",
    "anonymised": "个人信息匿名化",
}

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
        raise TransitionRefused(
            f"工单{STATUS_TEXT[current]}，不能{ACTION_TEXT[action]}", action=action, status=current.value
        )
    return rule.after


# -- what each action changes on the ticket, beside its status ---------------------------------


class TicketState(Protocol):
    """What the per-action rules read of a ticket (the row itself, read only)."""

    department: str
    category: str
    reviewed_at: dt.datetime | None
    redispatches: int


@dataclass(frozen=True, slots=True)
class ActionContext:
    now: dt.datetime
    revisit_days: float
    units: Mapping[str, str]  # department and grid station codes -> names
    deadline_days: Callable[[str], float]  # a category's time limit, in days


@dataclass(frozen=True, slots=True)
class Change:
    fields: dict[str, Any]  # set on the ticket
    note: str  # what its history says


ActionRule = Callable[[TicketState, Mapping[str, Any], str, ActionContext], Change]


def _needs(note: str, what: str) -> None:
    if not note:
        raise BadRequest(f"请填写{what}", field="note")


def _feedback(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    _needs(note, "办理结果")
    return Change(
        {"feedback": note, "feedback_at": c.now, "revisit_due_at": c.now + dt.timedelta(days=c.revisit_days)}, note
    )


def _return(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    _needs(note, "退单理由")
    return Change({"department": "", "deadline_at": None}, note)


def _handover(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    to = body.get("department")
    if type(to) is not str or to not in c.units or to == t.department:
        raise BadRequest("请选择接手的单位（部门或网格站）", field="department")
    _needs(note, "转交理由")
    here = c.units.get(t.department, t.department)
    return Change({"department": to}, f"由{here}转交{c.units[to]}：{note}")


def _receive(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    return Change({}, note or "已签收")


def _note(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    _needs(note, "现场记录")
    return Change({}, note)


def _approve(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    if t.reviewed_at is not None:
        raise TransitionRefused("反馈已审核通过", action="approve")
    return Change({"reviewed_at": c.now}, note)


def _reject(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    _needs(note, "审核退回的理由")
    return Change(
        {"feedback": "", "feedback_at": None, "revisit_due_at": None, "reviewed_at": None},
        "反馈审核未通过，退回承办部门重新办理：" + note,
    )


def _score(body: Mapping[str, Any]) -> dict[str, Any]:
    score = body.get("satisfaction")
    if score is None:
        return {}
    if type(score) is not int or score not in SATISFACTION:
        raise BadRequest("satisfaction 是 1-5（1 非常满意 … 5 非常不满意）", field="satisfaction")
    return {"satisfaction": score, "satisfaction_source": "revisit"}


def _revisit(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    return Change({"revisit_note": note, **_score(body), "closed_at": c.now}, note)


def _reopen(t: TicketState, body: Mapping[str, Any], note: str, c: ActionContext) -> Change:
    # The unit handles it again, within its category's time limit from now.
    return Change(
        {
            "revisit_note": note,
            **_score(body),
            "redispatches": t.redispatches + 1,
            "feedback": "",
            "feedback_at": None,
            "revisit_due_at": None,
            "deadline_at": c.now + dt.timedelta(days=c.deadline_days(t.category)),
        },
        "回访不满意，重新办理" + (f"：{note}" if note else ""),
    )


# Actions after the desk with their own rule; dispatch is the desk's rule
# (the unit and the time limit), shared with the submit.
ACTIONS: dict[str, ActionRule] = {
    "feedback": _feedback,
    "return": _return,
    "handover": _handover,
    "receive": _receive,
    "note": _note,
    "approve": _approve,
    "reject": _reject,
    "revisit": _revisit,
    "reopen": _reopen,
}
