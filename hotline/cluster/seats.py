"""Seats placed on nodes: every controller follows the placement, the
leader makes it (cluster/placement.py has the rules).

After each heartbeat (when every node's queue load is fresh) a controller
takes over the logins other controllers stored, reads where seats are
placed and tells its ACD which seats its queue holds; the leader then plans
and writes the moves inside its term (a leader that has lost the term writes
nothing). The bound on serving a caller who waits on one node while a seat
idles on another is a few heartbeats: the loads are published (one), the
leader moves the seat (the same), the old node removes it and says so (one
more), the new node adds it, and app_queue rings it within its own second."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.acd import floor_plan as fp
from hotline.acd.floor_plan import FloorPlan
from hotline.cluster.decisions import NotLeader
from hotline.cluster.fence import Fence
from hotline.cluster.placement import (
    WHY_TEXT,
    NodeLoad,
    Placed,
    Plan,
    fallen,
    fallen_text,
    hosts,
    order_first,
    plan_floor,
)
from hotline.db.models import ClusterSeat

log = logging.getLogger(__name__)


class SeatPlacement:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        node: str,
        fence: Fence,
        *,
        seats: Callable[[], list[str]],
        lawyers: Callable[[], list[str]],
        restrict: Callable[[frozenset[str], dict[str, str]], None],
        sync: Callable[[], Awaitable[None]],
        remote: Callable[[dict[str, str], dict[str, str]], None],
        note: Callable[..., None],
        settle: float,
        hold: float = 0.0,
        lines: Callable[[FloorPlan | None, tuple[float, ...]], None] = lambda plan, waits: None,
    ):
        """seats, lawyers: the logged-in seats of each pool; restrict: the seats this node's queue
        holds and where every seat is; sync: take over other controllers' logins; remote: the calls
        of seats other nodes hold (seat -> ringing | talking | wrapup), for
        this controller's seat map and desks; note: (kind, seat, text) for
        the lead's change log; lines: the leader's line plan (None: this
        controller plans) and when the other nodes' callers began waiting."""
        self.sessions = sessions
        self.node = node
        self.fence = fence
        self.seats = seats
        self.lawyers = lawyers
        self.restrict = restrict
        self.sync = sync
        self.remote = remote
        self.note = note
        self.settle = settle
        self.hold = hold
        self.lines = lines
        self.placed: dict[str, Placed] = {}
        self.moves = 0
        self.reads = 0  # placements read since the start
        self._loads: dict[str, NodeLoad] = {}  # as of the last heartbeat

    async def tick(self, loads: dict[str, NodeLoad]) -> None:
        if self.fence.leading:
            # The leader says what a node's failure cost (the lead's change log).
            for load in fallen(self._loads, loads):
                log.error("node %s down with %d calls in progress", load.node, len(load.talking))
                self.note("node-down", "", fallen_text(load))
        self._loads = loads
        try:
            await self.sync()
            before, self.placed = self.placed, await self._read()
            if not self.fence.leading and self.reads:
                self._note_moves(before)
            self.reads += 1
            self._follow(loads)
            self._follow_lines(loads)
            # A node that is down has lost its calls: only live nodes' calls are shown.
            others = [load for n, load in loads.items() if n != self.node and load.up]
            self.remote(
                {s: state for load in others for s, state in load.calls().items()},
                {s: caller for load in others for s, caller in load.callers.items()},
            )
            if self.fence.leading:
                chosen = plan_floor(self.seats(), self.lawyers(), self.placed, loads, time.time(), self.settle)
                if chosen.moves or chosen.forget:
                    await self._write(chosen)
                    self.placed = await self._read()
                    self._follow(loads)
        except NotLeader as exc:
            log.info("seat placement: %s", exc)
        except (OSError, SQLAlchemyError) as exc:
            # The placement stays as last read: each node keeps its seats.
            log.warning("seat placement on %s skipped: %s", self.node, type(exc).__name__)

    def order_hold(self, seat: str, waiting: Iterable[float], lawyer: bool) -> float:
        """Seconds to hold a seat freed here with no wrap-up, for arrival
        order across nodes (0: it serves this node's next caller now);
        released sooner once moved (AcdService._release_holds)."""
        queued = tuple(waiting)
        if order_first(self.node, seat, self.placed, self._loads, queued, time.time(), self.settle, lawyer):
            return self.hold
        return 0.0

    def _note_moves(self, before: dict[str, Placed]) -> None:
        """A follower's lead reads the leader's moves too (the leader stored them)."""
        for seat, p in sorted(self.placed.items()):
            if seat in before and before[seat].node != p.node:
                self.note("placed", seat, f"{WHY_TEXT.get(p.why, p.why)}：在节点 {p.node} 接听", store=False)

    def _follow_lines(self, loads: dict[str, NodeLoad]) -> None:
        others = [load for n, load in loads.items() if n != self.node and load.up]
        waits = tuple(sorted(w for load in others for w in load.waiting))
        plans = [fp.parse(load.plan) for load in others if load.plan is not None]
        leader = None if self.fence.leading else fp.newest([p for p in plans if p is not None])
        self.lines(leader, waits)

    def _follow(self, loads: dict[str, NodeLoad]) -> None:
        counsel = frozenset(self.lawyers())
        held = frozenset(s for s in self.placed if hosts(self.node, s, self.placed, loads, lawyer=s in counsel))
        self.restrict(held, {s: p.node for s, p in self.placed.items()})

    async def _read(self) -> dict[str, Placed]:
        age = func.extract("epoch", func.now() - ClusterSeat.placed_at)
        async with self.sessions() as db:
            rows = (await db.execute(select(ClusterSeat.seat, ClusterSeat.node, age, ClusterSeat.why))).all()
        now = time.time()
        return {seat: Placed(node, now - float(seconds), why) for seat, node, seconds, why in rows}

    async def _write(self, chosen: Plan) -> None:
        epoch = self.fence.leadership.epoch if self.fence.leadership is not None else 0
        async with self.sessions.begin() as db:
            await self.fence.in_term(db, "seat placement")
            for m in chosen.moves:
                values = {"node": m.to, "epoch": epoch or 0, "placed_at": func.now(), "why": m.why}
                stmt = insert(ClusterSeat).values(seat=m.seat, **values)
                await db.execute(stmt.on_conflict_do_update(index_elements=[ClusterSeat.seat], set_=values))
            if chosen.forget:
                await db.execute(delete(ClusterSeat).where(ClusterSeat.seat.in_(chosen.forget)))
        for m in chosen.moves:
            self.moves += 1
            log.info("seat %s placed on node %s (%s)", m.seat, m.to, m.why)
            self.note("placed", m.seat, f"{WHY_TEXT[m.why]}：在节点 {m.to} 接听")
