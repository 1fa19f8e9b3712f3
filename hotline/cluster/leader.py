"""One leader among the controllers that share a PostgreSQL database.

The leader is the controller whose own connection holds a session-level
advisory lock. PostgreSQL frees the lock when that connection ends, so a
controller killed with -9 (the kernel closes its socket) is replaced at the
next poll of the others. A leader whose database stops answering steps down
by itself at its next heartbeat, before anyone could take over (PostgreSQL
keeps the lock until it notices the dead connection itself), and a leader
that has not noticed yet cannot decide anything: every decision is fenced by
the term (epoch) it was made in (cluster/decisions.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.cluster.connection import hold_connection
from hotline.db.models import ClusterTerm, utcnow
from hotline.tasks import TaskSet

log = logging.getLogger(__name__)

# pg_try_advisory_lock's key: any number no other advisory lock here uses.
LOCK_KEY = 12345_0001
Listener = Callable[[int | None], None]


class Leadership:
    """Runs the election for this controller; `epoch` is its term while it leads."""

    def __init__(
        self,
        url: str,
        node: str,
        *,
        poll: float = 1.0,
        heartbeat: float = 1.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self.url = url
        self.node = node
        self.poll = poll
        self.heartbeat = heartbeat
        self.clock = clock
        self.epoch: int | None = None
        self.terms_won = 0
        self._listeners: list[Listener] = []
        self._tasks = TaskSet("leadership")

    @property
    def leading(self) -> bool:
        return self.epoch is not None

    def subscribe(self, listener: Listener) -> None:
        """listener(epoch) when this controller starts leading, listener(None) when it stops."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._tasks.spawn(self._run(), name=f"leadership-{self.node}")

    async def close(self) -> None:
        await self._tasks.close()
        self._set(None)

    def _set(self, epoch: int | None) -> None:
        if epoch == self.epoch:
            return
        self.epoch = epoch
        if epoch is not None:
            self.terms_won += 1
            log.warning("node %s leads the cluster (term %d)", self.node, epoch)
        else:
            log.warning("node %s no longer leads the cluster", self.node)
        for listener in list(self._listeners):
            try:
                listener(epoch)
            except Exception:
                log.exception("leadership listener failed")

    async def _run(self) -> None:
        await hold_connection(
            self.url, f"leadership of {self.node}", self._hold, self.poll, lost=lambda: self._set(None)
        )

    async def _hold(self, conn: AsyncConnection) -> None:
        while True:
            if self.epoch is None:
                async with asyncio.timeout(self.heartbeat * 3):
                    won = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
                if not won:
                    await asyncio.sleep(self.poll)
                    continue
                # A new term; it waits for decisions still holding the old one.
                async with asyncio.timeout(self.heartbeat * 3):
                    epoch = await conn.scalar(
                        update(ClusterTerm)
                        .where(ClusterTerm.id == 1)
                        .values(epoch=ClusterTerm.epoch + 1, node=self.node, since=self.clock())
                        .returning(ClusterTerm.epoch)
                    )
                if epoch is None:
                    raise RuntimeError("cluster_term has no row 1 (run `hotline db upgrade`)")
                self._set(int(epoch))
            else:
                await asyncio.sleep(self.heartbeat)
                # Unanswered within the heartbeat: step down (the finally above).
                async with asyncio.timeout(self.heartbeat):
                    await conn.scalar(text("SELECT 1"))
