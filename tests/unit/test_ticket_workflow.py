"""The ticket workflow table, the category tree and desk fan-out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.categories import CategoryTree
from hotline.tickets.desk import CLOSE, Desk
from tests.conftest import make_settings

AGENT = frozenset({Role.AGENT})
DEPT = frozenset({Role.DEPARTMENT})


@pytest.mark.parametrize(("status", "action", "roles", "after"), [
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
])
def test_allowed_moves(status: str, action: str, roles: frozenset[Role], after: str) -> None:
    assert wf.transition(status, action, roles).value == after


@pytest.mark.parametrize(("status", "action", "roles", "error"), [
    ("closed", "dispatch", AGENT, wf.TransitionRefused),
    ("accepted", "feedback", DEPT, wf.TransitionRefused),
    ("dispatched", "feedback", AGENT, wf.RoleRefused),
    ("feedback", "revisit", DEPT, wf.RoleRefused),
    ("accepted", "delete", AGENT, wf.TransitionRefused),
    ("feedback", "approve", DEPT, wf.RoleRefused),  # a department does not approve its own answer
    ("closed", "merge", AGENT, wf.TransitionRefused),
])
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
