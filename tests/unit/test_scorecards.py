"""Scorecards, a lead's total, and two leads' agreement (pure)."""

from __future__ import annotations

import pytest

from hotline.errors import BadRequest
from hotline.quality import scorecards as sc

ITEMS = sc.DEFAULT_ITEMS
FULL = {"greeting": 10, "listening": 20, "accuracy": 30, "ticket": 25, "manner": 15, "abuse": 0}


def test_a_total_adds_the_points_and_a_failed_fatal_item_makes_it_zero() -> None:
    assert sc.total(ITEMS, FULL) == 100
    assert sc.total(ITEMS, FULL | {"listening": 5}) == 85
    assert sc.total(ITEMS, FULL | {"abuse": 1}) == 0


def test_marks_are_checked_exactly() -> None:
    assert sc.parse_marks(ITEMS, FULL) == FULL
    for bad in (FULL | {"listening": 21}, FULL | {"listening": 5.0}, FULL | {"abuse": 2}, FULL | {"extra": 1}, []):
        with pytest.raises(BadRequest):
            sc.parse_marks(ITEMS, bad)
    with pytest.raises(BadRequest):
        sc.parse_marks(ITEMS, {k: v for k, v in FULL.items() if k != "manner"})


def test_an_admins_scorecard_must_add_up_to_100_with_unique_keys() -> None:
    good = [{"key": "a", "text": "问候", "weight": 40}, {"key": "b", "text": "答复", "weight": 60, "fatal": False}]
    assert [i.key for i in sc.parse_items(good)] == ["a", "b"]
    for bad in (
        [],
        [{"key": "a", "text": "问候", "weight": 40}],
        good + [{"key": "a", "text": "重复", "weight": 0}],
        [{"key": "a b", "text": "问候", "weight": 100}],
        [{"key": "a", "text": "", "weight": 100}],
        [{"key": "a", "text": "问候", "weight": True}, {"key": "b", "text": "答复", "weight": 99}],
    ):
        with pytest.raises(BadRequest):
            sc.parse_items(bad)


def test_two_leads_grades_show_how_far_apart_they_are() -> None:
    assert sc.agreement(ITEMS, [FULL]) is None
    got = sc.agreement(ITEMS, [FULL | {"listening": 10}, FULL | {"listening": 15, "manner": 10}])
    assert got is not None and (got.spread, got.items_agreed, got.items) == (0, 4, 6)
    assert got.text == "2 位评分：总分相差 0 分，4/6 项一致"
    apart = sc.agreement(ITEMS, [FULL, FULL | {"abuse": 1}])
    assert apart is not None and apart.spread == 100
