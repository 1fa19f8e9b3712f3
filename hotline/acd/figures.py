"""Hotline figures over a rolling 24 hours (no midnight reset).

Pure: fed the queue calls of the window, returns the figures per scope. The
connection rate (answered / offered) is what GB/T 33358 asks to keep at or
above 95 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

WINDOW_S = 24 * 3600
SERVICE_LEVEL_S = 15.0
SHORT_ABANDON_S = 5.0


class CallRow(Protocol):
    joined_at: float
    answered_at: float | None
    abandoned: bool
    hold_s: float | None
    talk_s: float | None
    wrapup_s: float | None
    seat: str
    tag: str


@dataclass(frozen=True, slots=True)
class Figures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_long: int = 0
    answered_within_15s: int = 0
    connection_rate: float | None = None
    service_level: float | None = None
    asa_s: float | None = None
    aht_s: float | None = None
    after_call_s: float | None = None
    callbacks_made: int = 0
    callbacks_reached: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def compute(rows: Iterable[CallRow], callbacks: tuple[int, int] = (0, 0)) -> Figures:
    rows = list(rows)
    answered = [r for r in rows if r.answered_at is not None]
    abandoned = [r for r in rows if r.abandoned]
    short = [r for r in abandoned if (r.hold_s or 0) < SHORT_ABANDON_S]
    within = [r for r in answered if (r.hold_s or 0) <= SERVICE_LEVEL_S]
    handle = [(r.talk_s or 0) + (r.wrapup_s or 0) for r in answered if r.talk_s is not None]
    offered = len(rows)
    return Figures(
        offered=offered,
        answered=len(answered),
        abandoned=len(abandoned),
        abandoned_short=len(short),
        abandoned_long=len(abandoned) - len(short),
        answered_within_15s=len(within),
        connection_rate=round(len(answered) / offered, 4) if offered else None,
        service_level=round(len(within) / offered, 4) if offered else None,
        asa_s=_mean([r.hold_s or 0 for r in answered]),
        aht_s=_mean(handle),
        after_call_s=_mean([r.wrapup_s for r in answered if r.wrapup_s is not None]),
        callbacks_made=callbacks[0],
        callbacks_reached=callbacks[1],
    )


def by(rows: Iterable[CallRow], key: str) -> dict[str, Figures]:
    groups: dict[str, list[CallRow]] = {}
    for r in rows:
        value = getattr(r, key)
        if value:
            groups.setdefault(value, []).append(r)
    return {k: compute(v) for k, v in sorted(groups.items())}


def hourly(rows: Iterable[CallRow], now: float) -> list[dict[str, int]]:
    """Offered and answered per hour for the last 24 hours, oldest first."""
    buckets = [{"offered": 0, "answered": 0} for _ in range(24)]
    for r in rows:
        age = now - r.joined_at
        if 0 <= age < WINDOW_S:
            b = buckets[23 - int(age // 3600)]
            b["offered"] += 1
            b["answered"] += r.answered_at is not None
    return buckets
