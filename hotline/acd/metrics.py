"""The ACD's gauges on /metrics (hotline/metrics.py): the live floor and
the rolling 24-hour figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from hotline.acd.service import AcdService

_FIGURES = (
    "offered",
    "answered",
    "abandoned",
    "abandoned_short",
    "abandoned_long",
    "answered_within_15s",
    "connection_rate",
    "service_level",
    "asa_s",
    "aht_s",
    "after_call_s",
    "callbacks_made",
    "callbacks_reached",
)


def acd_metrics(registry: CollectorRegistry, acd: AcdService) -> Callable[[], Awaitable[None]]:
    """The ACD's gauges on /metrics: the live floor and the rolling 24-hour figures."""
    waiting = Gauge("hotline_callers_waiting", "Callers waiting in the queue", registry=registry)
    longest = Gauge("hotline_longest_wait_seconds", "Longest current wait", registry=registry)
    lines_target = Gauge("hotline_lines_target", "Lines to staff now (schedule or override)", registry=registry)
    lines_staffed = Gauge("hotline_lines_staffed", "Lines with an agent on them", registry=registry)
    standby = Gauge("hotline_standby_active", "1 while standby is on the lines", registry=registry)
    seats = Gauge("hotline_seats", "Seats by state", ["state"], registry=registry)
    figures = Gauge("hotline_figure_24h", "Rolling 24-hour figure", ["figure", "scope", "key"], registry=registry)

    def put(scope: str, key: str, values: dict[str, Any]) -> None:
        for name in _FIGURES:
            v = values.get(name)
            if v is not None:
                figures.labels(name, scope, key).set(v)

    async def update() -> None:
        floor = acd.floor_view()
        waiting.set(floor["waiting"]["count"])
        longest.set(floor["waiting"]["longest_s"])
        lines_target.set(floor["lines"]["target"])
        lines_staffed.set(floor["lines"]["staffed"])
        standby.set(1 if floor["lines"]["standby_active"] else 0)
        seats.clear()
        counts: dict[str, int] = {}
        for s in floor["seats"]:
            counts[s["status"]] = counts.get(s["status"], 0) + 1
        for state, n in counts.items():
            seats.labels(state).set(n)
        figs = await acd.figures()
        figures.clear()
        put("total", "", figs["total"])
        for scope in ("by_seat", "by_tag", "by_queue"):
            for key, values in figs[scope].items():
                put(scope[3:], key, values)

    return update
