"""Scorecards (评分表) and how a lead's grade of a call adds up (pure).

A scorecard's items each carry a weight (points); an item marked fatal
(致命项), when failed, scores the whole call 0 whatever else it earned.
Two leads grading one call measure their calibration: how far apart their
totals are, and on how many items they agreed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hotline.errors import BadRequest
from hotline.jsonout import ReadModel


@dataclass(frozen=True)
class Item(ReadModel):
    key: str
    text: str
    weight: int  # the points it is worth
    fatal: bool = False  # failed, the call scores 0


DEFAULT_ITEMS = (
    Item("greeting", "规范问候与结束语", 10),
    Item("listening", "耐心倾听、不抢话", 20),
    Item("accuracy", "政策答复准确", 30),
    Item("ticket", "工单记录完整准确", 25),
    Item("manner", "服务态度", 15),
    Item("abuse", "辱骂、顶撞市民", 0, fatal=True),
)


def parse_items(raw: object) -> tuple[Item, ...]:
    """An admin's scorecard, checked exactly: keys unique, weights summing to 100."""
    if not isinstance(raw, list) or not raw:
        raise BadRequest("评分项 items 必须是非空列表", field="items")
    items = []
    for i, x in enumerate(raw):
        if not isinstance(x, dict):
            raise BadRequest(f"第 {i + 1} 项必须是对象", field="items")
        key, text, weight, fatal = x.get("key"), x.get("text"), x.get("weight"), x.get("fatal", False)
        if not isinstance(key, str) or not key.isascii() or not key.replace("-", "").isalnum() or len(key) > 32:
            raise BadRequest(f"第 {i + 1} 项的 key 只能是字母、数字和 -", field="items")
        if not isinstance(text, str) or not text.strip() or len(text) > 100:
            raise BadRequest(f"第 {i + 1} 项缺少说明 text", field="items")
        if type(weight) is not int or not 0 <= weight <= 100 or type(fatal) is not bool:
            raise BadRequest(f"第 {i + 1} 项的 weight 应为 0-100 的整数，fatal 为 true/false", field="items")
        items.append(Item(key, text.strip(), weight, fatal))
    if len({x.key for x in items}) != len(items):
        raise BadRequest("评分项的 key 不能重复", field="items")
    if sum(x.weight for x in items) != 100:
        raise BadRequest(f"各项分值之和应为 100（现为 {sum(x.weight for x in items)}）", field="items")
    return tuple(items)


def parse_marks(items: Sequence[Item], raw: object) -> dict[str, int]:
    """A lead's marks: points per item (0..weight); a fatal item 1 = failed, 0 = passed."""
    if not isinstance(raw, dict):
        raise BadRequest("marks 必须是对象", field="marks")
    out = {}
    for item in items:
        v = raw.get(item.key)
        top = 1 if item.fatal else item.weight
        if type(v) is not int or not 0 <= v <= top:
            raise BadRequest(f"「{item.text}」应为 0-{top} 的整数", field="marks")
        out[item.key] = v
    if set(raw) - set(out):
        raise BadRequest("marks 含有评分表之外的项", field="marks")
    return out


def total(items: Sequence[Item], marks: Mapping[str, int]) -> int:
    if any(i.fatal and marks.get(i.key, 0) for i in items):
        return 0
    return sum(marks.get(i.key, 0) for i in items if not i.fatal)


@dataclass(frozen=True)
class Agreement(ReadModel):
    graders: int
    spread: int  # the highest total minus the lowest
    items_agreed: int  # items every grader marked the same
    items: int

    @property
    def text(self) -> str:
        return f"{self.graders} 位评分：总分相差 {self.spread} 分，{self.items_agreed}/{self.items} 项一致"


def agreement(items: Sequence[Item], grades: Sequence[Mapping[str, int]]) -> Agreement | None:
    """How two or more graders of one call agreed (None: fewer than two)."""
    if len(grades) < 2:
        return None
    totals = [total(items, g) for g in grades]
    same = sum(1 for i in items if len({g.get(i.key) for g in grades}) == 1)
    return Agreement(len(grades), max(totals) - min(totals), same, len(items))


def as_items(rows: Any) -> tuple[Item, ...]:
    """A stored scorecard's items (JSON) back as Items."""
    return tuple(Item(str(x["key"]), str(x["text"]), int(x["weight"]), bool(x.get("fatal", False))) for x in rows)
