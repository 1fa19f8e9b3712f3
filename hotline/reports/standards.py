"""The GB/T 33358 standards report for a day or a month: each figure with
its definition, what is left out, the target and whether it was met.
Pure: fed the same queue records the seat map's figures come from
(acd/figures.py), so the two agree, plus callbacks, channel work items and
satisfaction scores."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

DAY_S = 24 * 3600
HOUR_S = 3600


class CallRow(Protocol):
    call_id: str
    queue: str
    joined_at: float
    answered_at: float | None
    abandoned: bool
    hold_s: float | None
    callback_id: int | None


class CallbackRow(Protocol):
    kind: str
    call_id: str
    status: str
    attempts: int
    created_at: float
    done_at: float | None


class ItemRow(Protocol):
    created_at: float
    accepted_at: float | None


@dataclass(frozen=True, slots=True)
class Targets:
    connection_rate: float = 0.95  # answered / offered, every 24 hours
    answered_15s: float = 0.80  # answered within 15 s / offered
    media_3min: float = 0.95  # channel requests taken up within 3 minutes
    missed_called_back: float = 0.95  # missed calls called back
    satisfied: float = 0.90  # 非常满意 + 满意 + 基本满意 among scores
    short_abandon_s: float = 5.0  # a caller gone sooner is not counted as offered


def _figure(
    name: str, num: int, den: int, target: float, definition: str, exclusions: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    value = num / den if den else None
    return {
        "name": name,
        "value": round(value, 4) if value is not None else None,
        "numerator": num,
        "denominator": den,
        "target": target,
        "met": None if value is None else value >= target,
        "definition": definition,
        "exclusions": exclusions,
        **(extra or {}),
    }


def report(
    calls: Iterable[CallRow],
    callbacks: Iterable[CallbackRow],
    items: Iterable[ItemRow],
    scores: Iterable[int],
    start: float,
    end: float,
    queue: str,
    outages: Iterable[tuple[float, float]] = (),
    targets: Targets = Targets(),
) -> dict[str, Any]:
    outages = list(outages)

    def in_outage(t: float) -> bool:
        return any(a <= t < b for a, b in outages)

    mine = [c for c in calls if c.queue == queue and c.callback_id is None and start <= c.joined_at < end]
    during_outage = [c for c in mine if in_outage(c.joined_at)]
    counted = [c for c in mine if not in_outage(c.joined_at)]
    short = [c for c in counted if c.abandoned and (c.hold_s or 0) < targets.short_abandon_s]
    offered = [c for c in counted if not (c.abandoned and (c.hold_s or 0) < targets.short_abandon_s)]
    answered = [c for c in offered if c.answered_at is not None]
    quick = [c for c in answered if (c.hold_s or 0) <= 15]

    # Every 24-hour window starting on the hour inside the period (one for a
    # day), counted with prefix sums over the calls in time order: a month of
    # calls costs a sort, not a scan per window.
    ordered = sorted(offered, key=lambda c: c.joined_at)
    times = [c.joined_at for c in ordered]
    done = [0]
    for c in ordered:
        done.append(done[-1] + (c.answered_at is not None))
    windows = []
    last = max(start, end - DAY_S)
    s = start
    while s <= last:
        lo, hi = bisect.bisect_left(times, s), bisect.bisect_left(times, s + DAY_S)
        if hi > lo:
            windows.append((s, (done[hi] - done[lo]) / (hi - lo), hi - lo))
        s += HOUR_S
    worst = min(windows, key=lambda w: w[1]) if windows else None
    exclusions = (
        f"放弃等待不足 {targets.short_abandon_s:g} 秒的来电 {len(short)} 通；"
        f"系统故障期间的来电 {len(during_outage)} 通；回拨占位不计"
    )
    connection = _figure(
        "接通率（任意 24 小时）",
        len(answered),
        len(offered),
        targets.connection_rate,
        "人工接通的来电 / 进入人工排队的来电；按每个整点起算的 24 小时窗口逐一计算，取最差窗口判定",
        exclusions,
        {
            "worst_window": {"start": worst[0], "value": round(worst[1], 4), "offered": worst[2]} if worst else None,
            "windows": len(windows),
        },
    )
    if worst is not None:
        connection["met"] = worst[1] >= targets.connection_rate

    missed = [c for c in offered if c.abandoned]
    missed_ids = {c.call_id for c in missed}
    made = [cb for cb in callbacks if cb.kind == "missed" and cb.call_id in missed_ids and cb.attempts > 0]
    reached = [cb for cb in made if cb.status == "reached" and cb.done_at is not None]
    waits = [(cb.done_at - cb.created_at) / 60 for cb in reached if cb.done_at is not None]
    called_back = _figure(
        "漏接来电回拨率",
        len({cb.call_id for cb in made}),
        len(missed),
        targets.missed_called_back,
        "已回拨（至少拨出一次）的漏接来电 / 漏接来电",
        "短时放弃与故障期间的来电不计",
        {
            "reached": len({cb.call_id for cb in reached}),
            "median_minutes_to_reach": round(statistics.median(waits), 1) if waits else None,
        },
    )

    items = [i for i in items if start <= i.created_at < end]
    taken = [i for i in items if i.accepted_at is not None and i.accepted_at - i.created_at <= 180]
    media = _figure(
        "非话务渠道 3 分钟响应率",
        len(taken),
        len(items),
        targets.media_3min,
        "网站、微信、短信、App、110 转来的诉求在 3 分钟内被坐席接手 / 这些诉求",
        "无",
    )

    dist = {level: 0 for level in range(1, 6)}
    for score in scores:
        if score in dist:
            dist[score] += 1
    rated = sum(dist.values())
    satisfied = _figure(
        "满意率",
        dist[1] + dist[2] + dist[3],
        rated,
        targets.satisfied,
        "非常满意、满意、基本满意 / 参与评价（一键好差评与回访）",
        "未评价的不计",
        {"distribution": dist},
    )

    within = _figure(
        "15 秒接通率",
        len(quick),
        len(offered),
        targets.answered_15s,
        "排队 15 秒内人工接通的来电 / 进入人工排队的来电",
        exclusions,
    )
    figures = [connection, within, media, called_back, satisfied]
    return {
        "start": start,
        "end": end,
        "offered": len(offered),
        "answered": len(answered),
        "figures": figures,
        "met": all(f["met"] is not False for f in figures),
    }
