"""The controller's part in the cluster: its election, when it has a node name."""

from __future__ import annotations

import zoneinfo
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Gauge

from hotline.cluster.fence import Fence
from hotline.cluster.leader import Leadership
from hotline.cluster.presence import Presence
from hotline.metrics import METRICS
from hotline.seatmap.api import HUB
from hotline.web.keys import AMI, KEEPER, SESSIONS, SETTINGS

FENCE = web.AppKey("fence", Fence)


async def cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    s = app[SETTINGS]
    if not s.cluster.node:
        app[FENCE] = Fence()
        yield
        return
    leadership = Leadership(
        s.database_url, s.cluster.node, poll=s.cluster.poll_seconds, heartbeat=s.cluster.heartbeat_seconds
    )
    fence = app[FENCE] = Fence(leadership)
    registry = app[METRICS].registry
    leading = Gauge("hotline_cluster_leader", "1 while this controller leads the cluster", ["node"], registry=registry)
    term = Gauge("hotline_cluster_term", "The cluster's term while this controller leads, else 0", registry=registry)

    async def update() -> None:
        leading.labels(node=leadership.node).set(1 if fence.leading else 0)
        term.set(leadership.epoch or 0)

    app[METRICS].add_updater(update)
    await leadership.start()
    try:
        yield
    finally:
        await leadership.close()


async def presence_ctx(app: web.Application) -> AsyncIterator[None]:
    """The nodes on the seat map: after the seat map's own context."""
    s = app[SETTINGS]
    if not s.cluster.node:
        yield
        return
    keeper = app[KEEPER]
    presence = Presence(
        app[SESSIONS],
        s.cluster.node,
        app[FENCE],
        lambda: app[AMI].connected and keeper.mirror.synced,
        s.cluster.heartbeat_seconds,
        zoneinfo.ZoneInfo(s.ivr.timezone),
    )
    hub = app[HUB]
    presence.subscribe(lambda nodes: hub.set_nodes([n.as_dict() for n in nodes]))
    presence.start()
    try:
        yield
    finally:
        await presence.close()
