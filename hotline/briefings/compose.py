"""A briefing's contents from the tickets of its period: volumes, repeat
problems, the departments' record. Pure: the service reads the rows, this
counts them. Nothing personal goes in: no caller, no name, house numbers
masked, content never quoted; a ticket is its number, day, category and
place, and a place is the recognised roads and compounds only."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hotline.tickets.categories import CategoryTree
from hotline.tickets.views import CHANNELS
from hotline.tickets.workflow import SATISFACTION, STATUS_TEXT, Status

# Scores 1-3 are 满意 in some degree, 4-5 不满意 (tickets/workflow.py).
SATISFIED = frozenset({1, 2, 3})


@dataclass(frozen=True, slots=True)
class TicketFact:
    id: int
    number: str
    created_at: dt.datetime  # aware
    channel: str
    category: str
    district: str
    address: str
    department: str
    status: str
    deadline_at: dt.datetime | None
    feedback_at: dt.datetime | None
    closed_at: dt.datetime | None
    satisfaction: int | None
    redispatches: int


_HEAD_END = re.compile(r"[,，;；。、:：(（\[【/|]")
# A place word: a few characters ending the way Chinese roads, compounds and
# administrative areas end (shortest first: 幸福里小区 is 幸福里 + 小区).
_PLACE = re.compile(
    r"[\u4e00-\u9fff]{1,8}?(?:大街|大道|胡同|小区|花园|家园|新村|公寓|大厦|广场|社区|街道|市场|公园|"
    r"路|街|道|巷|弄|里|苑|园|村|城|区|县|市|镇|乡|院)"
)
# After a house number only a compound may follow, by a two-character
# ending: a name like 李园 or 王村 must not pass as a place.
_COMPOUND = re.compile(r"[\u4e00-\u9fff]{1,8}?(?:小区|花园|家园|新村|公寓|大厦|广场|社区|市场|公园)")
# A house, building, unit or room number after a place word.
_NUMBER = re.compile(r"[0-9一二三四五六七八九十百零〇两]+(?:号楼|号院|号|栋|幢|单元|室|楼|层|弄|-)?")


def mask_place(address: str) -> str:
    """The place a briefing may name: only the recognised roads, compounds
    and areas at the start of the address, house and room numbers masked
    (幸福路12号3单元 -> 幸福路**号*单元). Whatever follows (a phone number, a
    name, a note typed into the field) never passes: the address is cut at
    its first punctuation and at the first word that is not a place."""
    head = _HEAD_END.split(unicodedata.normalize("NFKC", address).replace(" ", ""), maxsplit=1)[0]
    out: list[str] = []
    pos = places = 0
    numbered = False
    while pos < len(head) and len(out) < 8:
        if places and (m := _NUMBER.match(head, pos)):
            digits = re.match(r"[0-9一二三四五六七八九十百零〇两]+", m[0])
            assert digits is not None
            out.append("*" * min(len(digits[0]), 2) + m[0][len(digits[0]) :])
            numbered = True
        elif m := (_COMPOUND if numbered else _PLACE).match(head, pos):
            out.append(m[0])
            places += 1
        else:
            break
        pos = m.end()
    return "".join(out) if places else "（地址未识别）"


def place_key(address: str) -> str:
    """Two spellings of one address count as one (full-width digits, spaces,
    trailing punctuation); what follows the address's first punctuation is
    a note, not the place."""
    normal = unicodedata.normalize("NFKC", address).replace(" ", "")
    return _HEAD_END.split(normal, maxsplit=1)[0].rstrip("。，,.;；")


def _counted(pairs: Iterable[tuple[str, int]], top: int | None = None) -> list[dict[str, Any]]:
    rows = sorted(pairs, key=lambda p: (-p[1], p[0]))
    return [{"label": label, "count": n} for label, n in (rows[:top] if top else rows) if n]


def volumes(tickets: Sequence[TicketFact], tree: CategoryTree, previous_total: int) -> dict[str, Any]:
    by_channel = Counter(t.channel for t in tickets)
    top = Counter[str]()
    sub: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tickets:
        node = tree.get(t.category)
        if node is None:
            top["未分类"] += 1
            continue
        top[node.path[0]] += 1
        if len(node.path) > 1:
            sub[node.path[0]][node.path[1]] += 1
    categories = [{**row, "children": _counted(sub[row["label"]].items())} for row in _counted(top.items())]
    by_district = Counter(t.district or "未填区县" for t in tickets)
    by_dept = Counter(t.department for t in tickets if t.department)
    return {
        "total": len(tickets),
        "previous_total": previous_total,
        "channels": _counted((CHANNELS.get(k, k), n) for k, n in by_channel.items()),
        "categories": categories,
        "districts": _counted(by_district.items()),
        "departments": _counted(
            ((tree.departments[k].name if k in tree.departments else k), n) for k, n in by_dept.items()
        ),
    }


def brief_row(t: TicketFact, tree: CategoryTree, tz: dt.tzinfo) -> dict[str, Any]:
    """A ticket as a briefing lists it."""
    node = tree.get(t.category)
    dept = tree.departments.get(t.department)
    return {
        "number": t.number,
        "day": t.created_at.astimezone(tz).strftime("%m-%d"),
        "category": node.label if node else "未分类",
        "district": t.district,
        "place": mask_place(t.address),
        "department": dept.name if dept else "",
        "status": STATUS_TEXT[Status(t.status)] if t.status in Status._value2member_map_ else t.status,
    }


def repeats(
    window: Sequence[TicketFact], in_period: set[int], minimum: int, tree: CategoryTree, tz: dt.tzinfo, listed: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """Same address and category at least `minimum` times within the window
    (the period and the weeks before it), one of them in the period: the
    `listed` most repeated, and how many there are in all (a large city has
    thousands of addresses reported three times a month)."""
    groups: dict[tuple[str, str], list[TicketFact]] = defaultdict(list)
    for t in window:
        if t.address.strip() and t.category:
            groups[(place_key(t.address), t.category)].append(t)
    found = sorted(
        (
            (place, cat, ts)
            for (place, cat), ts in groups.items()
            if len(ts) >= minimum and any(t.id in in_period for t in ts)
        ),
        key=lambda g: (-len(g[2]), mask_place(g[0]), g[1]),
    )
    out = []
    for place, cat, ts in found[:listed]:
        ts.sort(key=lambda t: t.created_at)
        node = tree.get(cat)
        out.append(
            {
                "place": mask_place(place),
                "category": node.label if node else cat,
                "count": len(ts),
                "first": ts[0].created_at.astimezone(tz).strftime("%m-%d"),
                "tickets": [brief_row(t, tree, tz) for t in ts],
            }
        )
    return out, len(found)


def departments(
    tickets: Sequence[TicketFact],
    returns: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    tree: CategoryTree,
) -> list[dict[str, Any]]:
    """Each unit's record over the period. tickets: those touched in it (made,
    due, answered or closed); returns: the unit of each return (退单) made in it.

    办结 on time: answered (反馈) at or before the deadline, among the tickets
    answered in the period and those whose deadline passed in it unanswered.
    重派: the unit's tickets sent again after a return or a dissatisfied revisit.
    满意度: revisit scores given to tickets closed in the period, 1-3 satisfied."""
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        if code not in rows:
            dept = tree.departments.get(code)
            rows[code] = {
                "code": code,
                "name": dept.name if dept else code,
                "due": 0,
                "on_time": 0,
                "late": 0,
                "returns": 0,
                "redispatches": 0,
                "scored": 0,
                "satisfied": 0,
                "scores": {str(k): 0 for k in SATISFACTION},
            }
        return rows[code]

    for t in tickets:
        if not t.department:
            continue
        r = row(t.department)
        if t.deadline_at is not None:
            answered_now = t.feedback_at is not None and start <= t.feedback_at < end
            overdue_now = t.feedback_at is None and start <= t.deadline_at < min(end, now)
            if answered_now or overdue_now:
                r["due"] += 1
                if answered_now and t.feedback_at <= t.deadline_at:  # type: ignore[operator]
                    r["on_time"] += 1
                else:
                    r["late"] += 1
        if t.created_at >= start and t.created_at < end:
            r["redispatches"] += t.redispatches
        if t.satisfaction is not None and t.closed_at is not None and start <= t.closed_at < end:
            r["scored"] += 1
            r["satisfied"] += t.satisfaction in SATISFIED
            r["scores"][str(t.satisfaction)] += 1
    for code in returns:
        if code:
            row(code)["returns"] += 1
    for r in rows.values():
        r["on_time_rate"] = round(r["on_time"] / r["due"], 4) if r["due"] else None
        r["satisfaction_rate"] = round(r["satisfied"] / r["scored"], 4) if r["scored"] else None
    return sorted(
        rows.values(),
        key=lambda r: (r["on_time_rate"] if r["on_time_rate"] is not None else 2.0, -r["late"], r["name"]),
    )
