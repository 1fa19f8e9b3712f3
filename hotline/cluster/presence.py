"""Every controller's heartbeat in the shared database, and the nodes as the
seat map shows them. Ages are measured with the database's clock on both
ends, so the machines' own clocks never make a node look down."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.cluster.fence import Fence
from hotline.cluster.placement import NodeLoad
from hotline.db.models import ClusterNode
from hotline.jsonout import ReadModel
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

# Heartbeats a node may miss before it counts as down.
DOWN_AFTER_BEATS = 3


@dataclass(frozen=True)
class NodeView(ReadModel):
    node: str
    up: bool
    leading: bool
    pbx_up: bool
    # The last heartbeat of a node that is down (None while it is up, so an
    # up node's tile does not change every second).
    last_seen: dt.datetime | None
    last_seen_text: str | None  # the same, as the city's clock shows it


def dump_load(load: NodeLoad) -> str:
    data: dict[str, object] = {
        "waiting": list(load.waiting),
        "members": sorted(load.members),
        "busy": sorted(load.busy),
        "free": sorted(load.free),
        "ringing": sorted(load.ringing),
        "talking": sorted(load.talking),
        "in_ivr": load.in_ivr,
        "lawyer_waiting": list(load.lawyer_waiting),
        "lawyer_members": sorted(load.lawyer_members),
        "lawyer_free": sorted(load.lawyer_free),
        "callers": dict(load.callers),
        "webphones": sorted(load.webphones),
    }
    if load.plan is not None:
        data["plan"] = load.plan
    return json.dumps(data)


def parse_load(node: str, up: bool, text: str) -> NodeLoad:
    """A node's published load; anything unreadable counts as an empty queue."""
    try:
        data = json.loads(text or "{}")
        waiting, lawyer_waiting = (
            tuple(sorted(float(w) for w in data.get(k, ()))) for k in ("waiting", "lawyer_waiting")
        )
        in_ivr = int(data.get("in_ivr", 0))
        kinds = ("members", "busy", "free", "ringing", "talking", "lawyer_members", "lawyer_free", "webphones")
        members, busy, free, ringing, talking, lawyer_members, lawyer_free, webphones = (
            frozenset(str(s) for s in data.get(k, ())) for k in kinds
        )
    except (ValueError, TypeError, AttributeError):
        log.warning("cluster: node %s published an unreadable load", node)
        return NodeLoad(node, up)
    plan, callers = data.get("plan"), data.get("callers")
    callers = {str(k): str(v) for k, v in callers.items()} if isinstance(callers, dict) else {}
    return NodeLoad(
        node,
        up,
        waiting,
        members,
        busy,
        free,
        ringing,
        talking,
        in_ivr,
        lawyer_waiting,
        lawyer_members,
        lawyer_free,
        webphones,
        callers,
        plan if isinstance(plan, dict) else None,
    )


class Presence:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        node: str,
        fence: Fence,
        pbx_up: Callable[[], bool],
        every: float,
        tz: dt.tzinfo,
        load: Callable[[], NodeLoad] | None = None,
    ):
        """load: this node's queue, published with each heartbeat for the
        leader's seat placement (none: nothing to place, e.g. in tests)."""
        self.sessions = sessions
        self.node = node
        self.fence = fence
        self.pbx_up = pbx_up
        self.every = every
        self.tz = tz
        self.load = load
        self.nodes: list[NodeView] = []
        self.loads: dict[str, NodeLoad] = {}  # every node's, as of the last beat
        self.beats = 0
        self._listeners: list[Callable[[list[NodeView]], None]] = []
        self._beats: list[Callable[[dict[str, NodeLoad]], Awaitable[None]]] = []
        self._tasks = TaskSet("presence")

    def subscribe(self, listener: Callable[[list[NodeView]], None]) -> None:
        self._listeners.append(listener)

    def on_beat(self, listener: Callable[[dict[str, NodeLoad]], Awaitable[None]]) -> None:
        """await listener(every node's load) after each heartbeat."""
        self._beats.append(listener)

    def start(self) -> None:
        self._tasks.spawn(self._run(), name="cluster-presence")

    async def close(self) -> None:
        await self._tasks.close()

    async def beat(self) -> list[NodeView]:
        """Write this node's heartbeat, read everyone's."""
        values: dict[str, object] = {"seen_at": func.now(), "leading": self.fence.leading, "pbx_up": self.pbx_up()}
        if self.load is not None:
            values["load"] = dump_load(self.load())
        if self.beats == 0:
            values["started_at"] = func.now()  # this run of the controller begins
        stmt = insert(ClusterNode).values({"node": self.node, "started_at": func.now(), **values})
        async with self.sessions.begin() as db:
            await db.execute(stmt.on_conflict_do_update(index_elements=[ClusterNode.node], set_=values))
        age = func.extract("epoch", func.now() - ClusterNode.seen_at)
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(
                        ClusterNode.node,
                        ClusterNode.leading,
                        ClusterNode.pbx_up,
                        ClusterNode.seen_at,
                        age,
                        ClusterNode.load,
                    ).order_by(ClusterNode.node)
                )
            ).all()
        self.beats += 1
        limit = self.every * DOWN_AFTER_BEATS
        views = []
        loads = {}
        for node, leading, pbx_up, seen_at, silent, load in rows:
            up = float(silent) < limit
            loads[node] = parse_load(node, up and pbx_up, load)
            last = None if up else seen_at
            text = last.astimezone(self.tz).strftime("%H:%M:%S") if last is not None else None
            views.append(NodeView(node, up, up and leading, up and pbx_up, last_seen=last, last_seen_text=text))
        self.loads = loads
        if views != self.nodes:
            self.nodes = views
            for listener in list(self._listeners):
                listener(views)
        for beat in list(self._beats):
            await beat(loads)
        return views

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
            except (OSError, SQLAlchemyError) as exc:
                log.warning("cluster heartbeat of %s failed: %s", self.node, type(exc).__name__)
            await asyncio.sleep(self.every)
