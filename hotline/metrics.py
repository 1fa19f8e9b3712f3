"""/metrics: one Prometheus registry per app (several controllers in one
process stay apart). Each feature adds its gauges to it and an updater that
refreshes them when the page is scraped; nothing here knows a feature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from hotline.roles import Role
from hotline.web.auth import allow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._updaters: list[Callable[[], Awaitable[None]]] = []

    def add_updater(self, update: Callable[[], Awaitable[None]]) -> None:
        self._updaters.append(update)

    async def render(self) -> bytes:
        for update in self._updaters:
            await update()
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


@allow(Role.LEAD, Role.ADMIN, Role.METRICS)
async def metrics(request: web.Request) -> web.Response:
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application) -> None:
    app[METRICS] = Metrics()
    app.router.add_get("/metrics", metrics)
