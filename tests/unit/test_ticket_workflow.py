"""The ticket workflow table, the category tree and desk fan-out."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.errors import BadRequest
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.categories import CategoryTree
from hotline.tickets.desk import CLOSE, Desk
from tests.conftest import make_settings

AGENT = frozenset({Role.AGENT})
DEPT = frozenset({Role.DEPARTMENT})


@pytest.mark.parametrize(
    ("status", "action", "roles", "after"),
    [
        ("accepted", "answer", AGENT, "closed"),
        ("accepted", "dispatch", AGENT, "dispatched"),
        ("dispatched", "feedback", DEPT, "feedback"),
        ("dispatched", "return", DEPT, "returned"),
        ("returned", "dispatch", frozenset({Role.LEAD}), "dispatched"),
        ("feedback", "revisit", AGENT, "closed"),
        ("feedback", "reopen", AGENT, "dispatched"),
        ("feedback", "approve", AGENT, "feedback"),
        ("feedback", "reject", AGENT, "dispatched"),
        ("accepted", "merge", AGENT, "closed"),
        ("dispatched", "merge", AGENT, "closed"),
    ],
)
def test_allowed_moves(status: str, action: str, roles: frozenset[Role], after: str) -> None:
    assert wf.transition(status, action, roles).value == after


@pytest.mark.parametrize(
    ("status", "action", "roles", "error"),
    [
        ("closed", "dispatch", AGENT, wf.TransitionRefused),
        ("accepted", "feedback", DEPT, wf.TransitionRefused),
        ("dispatched", "feedback", AGENT, wf.RoleRefused),
        ("feedback", "revisit", DEPT, wf.RoleRefused),
        ("accepted", "delete", AGENT, wf.TransitionRefused),
        ("feedback", "approve", DEPT, wf.RoleRefused),  # a department does not approve its own answer
        ("closed", "merge", AGENT, wf.TransitionRefused),
    ],
)
def test_refused_moves_say_why(status: str, action: str, roles: frozenset[Role], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wf.transition(status, action, roles)
    assert caught.value.status in (403, 409) and caught.value.error_id.startswith("ticket-")


def test_every_status_but_closed_has_a_way_on() -> None:
    reachable = {s for rule in wf.RULES.values() for s in rule.before}
    assert reachable == set(wf.Status) - {wf.Status.CLOSED}


def test_category_deadlines_and_departments_are_inherited(tmp_path: Path) -> None:
    tree = CategoryTree(make_settings(tmp_path).tickets)
    noise = tree.get("env-noise")
    air = tree.get("env-air")
    assert noise is not None and air is not None
    assert (noise.label, noise.deadline_days, noise.department) == ("生态环境 / 噪音污染", 3, "sthj")
    assert (air.deadline_days, air.department) == (5, "sthj")
    assert tree.as_json()["categories"][0]["children"][0]["code"] == "consult-social"


async def test_a_desk_that_falls_behind_is_closed_not_silently_skipped() -> None:
    desk = Desk("agent01")
    for i in range(desk.queue.maxsize + 5):
        desk.offer(f"frame {i}")
    assert desk.overflowed and desk.queue.qsize() == 1
    assert await asyncio.wait_for(desk.queue.get(), 1) == CLOSE


# -- what each action after the desk changes ---------------------------------------------------

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)
CTX = wf.ActionContext(
    NOW,
    revisit_days=3,
    units={"zjw": "市住房城乡建设委", "xingfu": "幸福社区网格站"},
    deadline_days=lambda category: 5.0 if category == "urban-works" else 10.0,
)


@dataclass
class Row:
    department: str = "zjw"
    category: str = "urban-works"
    reviewed_at: dt.datetime | None = None
    redispatches: int = 0


def test_a_units_feedback_and_return_need_their_text_and_set_what_follows() -> None:
    with pytest.raises(BadRequest):
        wf.ACTIONS["feedback"](Row(), {}, "", CTX)
    done = wf.ACTIONS["feedback"](Row(), {}, "已修复", CTX)
    assert done.fields == {"feedback": "已修复", "feedback_at": NOW, "revisit_due_at": NOW + dt.timedelta(days=3)}
    with pytest.raises(BadRequest):
        wf.ACTIONS["return"](Row(), {}, "", CTX)
    assert wf.ACTIONS["return"](Row(), {}, "不属本单位职责", CTX).fields == {"department": "", "deadline_at": None}


def test_a_handover_names_both_units_and_needs_another_known_one() -> None:
    for body in ({}, {"department": "zjw"}, {"department": "nosuch"}, {"department": ["xingfu"]}):
        with pytest.raises(BadRequest):
            wf.ACTIONS["handover"](Row(), body, "属地在幸福社区", CTX)
    with pytest.raises(BadRequest):
        wf.ACTIONS["handover"](Row(), {"department": "xingfu"}, "", CTX)
    moved = wf.ACTIONS["handover"](Row(), {"department": "xingfu"}, "属地在幸福社区", CTX)
    assert moved.fields == {"department": "xingfu"}
    assert moved.note == "由市住房城乡建设委转交幸福社区网格站：属地在幸福社区"


def test_review_and_revisit_rules() -> None:
    assert wf.ACTIONS["approve"](Row(), {}, "", CTX).fields == {"reviewed_at": NOW}
    with pytest.raises(wf.TransitionRefused):
        wf.ACTIONS["approve"](Row(reviewed_at=NOW), {}, "", CTX)
    rejected = wf.ACTIONS["reject"](Row(reviewed_at=NOW), {}, "未附照片", CTX)
    assert rejected.fields["reviewed_at"] is None and rejected.note.endswith("：未附照片")
    ok = wf.ACTIONS["revisit"](Row(), {"satisfaction": 2}, "市民满意", CTX)
    assert ok.fields == {
        "revisit_note": "市民满意",
        "satisfaction": 2,
        "satisfaction_source": "revisit",
        "closed_at": NOW,
    }
    for bad in (0, 6, "2", True):
        with pytest.raises(BadRequest):
            wf.ACTIONS["revisit"](Row(), {"satisfaction": bad}, "", CTX)
    again = wf.ACTIONS["reopen"](Row(redispatches=1), {"satisfaction": 4}, "仍有噪音", CTX)
    assert again.fields["redispatches"] == 2 and again.fields["deadline_at"] == NOW + dt.timedelta(days=5)
    assert again.note == "回访不满意，重新办理：仍有噪音" and again.fields["satisfaction"] == 4
    assert wf.ACTIONS["receive"](Row(), {}, "", CTX).note == "已签收"
