"""Prometheus metrics: live floor gauges and the rolling 24-hour figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from hotline.acd.service import AcdService

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_FIGURES = ("offered", "answered", "abandoned", "abandoned_short", "abandoned_long", "answered_within_15s",
            "connection_rate", "service_level", "asa_s", "aht_s", "after_call_s", "callbacks_made",
            "callbacks_reached")


class Metrics:
    """One registry per app, so several controllers in one process stay apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.waiting = Gauge("hotline_callers_waiting", "Callers waiting in the queue", registry=r)
        self.longest = Gauge("hotline_longest_wait_seconds", "Longest current wait", registry=r)
        self.lines_target = Gauge("hotline_lines_target", "Lines to staff now (schedule or override)", registry=r)
        self.lines_staffed = Gauge("hotline_lines_staffed", "Lines with an agent on them", registry=r)
        self.standby = Gauge("hotline_standby_active", "1 while standby is on the lines", registry=r)
        self.seats = Gauge("hotline_seats", "Seats by state", ["state"], registry=r)
        self.figures = Gauge("hotline_figure_24h", "Rolling 24-hour figure", ["figure", "scope", "key"], registry=r)
        # Other parts (tickets) add their own gauges and refresh them here.
        self._updaters: list[Callable[[], Awaitable[None]]] = []

    def add_updater(self, update: Callable[[], Awaitable[None]]) -> None:
        self._updaters.append(update)

    async def render(self, acd: AcdService) -> bytes:
        floor = acd.floor_view()
        self.waiting.set(floor["waiting"]["count"])
        self.longest.set(floor["waiting"]["longest_s"])
        self.lines_target.set(floor["lines"]["target"])
        self.lines_staffed.set(floor["lines"]["staffed"])
        self.standby.set(1 if floor["lines"]["standby_active"] else 0)
        self.seats.clear()
        counts: dict[str, int] = {}
        for s in floor["seats"]:
            counts[s["status"]] = counts.get(s["status"], 0) + 1
        for state, n in counts.items():
            self.seats.labels(state).set(n)
        figs = await acd.figures()
        self.figures.clear()
        self._figures("total", "", figs["total"])
        for scope in ("by_seat", "by_tag", "by_queue"):
            for key, values in figs[scope].items():
                self._figures(scope[3:], key, values)
        for update in self._updaters:
            await update()
        return generate_latest(self.registry)

    def _figures(self, scope: str, key: str, values: dict[str, Any]) -> None:
        for name in _FIGURES:
            v = values.get(name)
            if v is not None:
                self.figures.labels(name, scope, key).set(v)
