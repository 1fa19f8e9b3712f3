"""New calls to the node with a seat free: the leader tells the SIP edge.

app_queue shares nothing between nodes, and the edge would otherwise spread
calls round robin: a caller sent to a node with no seat free waits while the
leader moves a seat over (a few heartbeats, then app_queue's next ring). So
after each heartbeat the leader writes where a new call would be answered at
once: one row per seat free on a node and not yet claimed by a caller waiting
or in its IVR, interleaved over the nodes (`picks`). The edge reads the rows
every second and goes through them in turn; with none (no seat free, or the
leader silent for five seconds: its rows are stale) it goes round robin over
the nodes that answer its probes, and a steered node that does not take a
call hands it to round robin too. Through the database rather than
Kamailio's RPC, because the edge runs on a machine of its own and already
reads this database."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import delete, func, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.cluster.decisions import NotLeader
from hotline.cluster.fence import Fence
from hotline.cluster.placement import NodeLoad
from hotline.db.models import EdgeSteer

log = logging.getLogger(__name__)

MOST = 20  # rows at most: a burst larger than this waits for the next heartbeat's


def picks(loads: Mapping[str, NodeLoad], most: int = MOST) -> list[str]:
    """Nodes for the next new calls, one entry per seat free and unclaimed,
    the node with the most first and then in turn (pure): {a: 2, b: 1} gives
    [a, b, a]."""
    spare = {n: len(load.free) - len(load.waiting) - load.in_ivr for n, load in sorted(loads.items()) if load.up}
    left = {n: k for n, k in spare.items() if k > 0}
    out: list[str] = []
    while left and len(out) < most:
        for n in sorted(left, key=lambda n: (-left[n], n)):
            out.append(n)
            left[n] -= 1
            if len(out) >= most:
                break
        left = {n: k for n, k in left.items() if k > 0}
    return out


class Steering:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], fence: Fence, uris: Mapping[str, str]):
        """uris: each node's SIP address as the edge's dispatcher lists it."""
        self.sessions = sessions
        self.fence = fence
        self.uris = dict(uris)
        self.last: list[str] = []

    async def tick(self, loads: dict[str, NodeLoad]) -> None:
        if not self.fence.leading:
            return
        chosen = [n for n in picks(loads) if n in self.uris]
        try:
            async with self.sessions.begin() as db:
                await self.fence.in_term(db, "call steering")
                await db.execute(delete(EdgeSteer))
                if chosen:
                    rows = [
                        {"slot": i, "node": n, "uri": self.uris[n], "written_at": func.now()}
                        for i, n in enumerate(chosen)
                    ]
                    await db.execute(insert(EdgeSteer).values(rows))
        except NotLeader as exc:
            log.info("call steering: %s", exc)
            return
        except (OSError, SQLAlchemyError) as exc:
            log.warning("call steering skipped: %s", type(exc).__name__)
            return
        if chosen != self.last:
            log.info("new calls steered to %s", ", ".join(chosen) or "no node (round robin)")
        self.last = chosen
