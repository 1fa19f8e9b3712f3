"""The ACD's floor when several controllers share one database.

Each controller runs its own node's queue, but agents log in at whichever
controller serves their desk, and the leader may place their seat on any
node. So every controller takes the logins, logouts and pauses the others
stored (agent_sessions, the same rows a restarted controller restores from),
and its queue holds only the seats placed on its node (`restrict`). On one
node nothing restricts and the rows are only read at start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline.acd.reconcile import Reconciler
from hotline.db.models import AgentSession
from hotline.seats import state as st

# Wrap-up on another node, as shown here: renewed with each of its heartbeats.
REMOTE_WRAPUP_S = 5.0


def with_sessions(floor: st.Floor, rows: list[AgentSession], now: float) -> st.Floor:
    """The floor with the stored logins (pure): seats nobody holds any more
    are logged out (unless talking here: after the call), others logged in,
    pauses taken over."""
    want = {r.seat: r for r in rows if r.seat in floor.seats}
    for name, seat in floor.seats.items():
        r = want.get(name)
        if seat.logged_in and (r is None or r.agent != seat.agent) and not seat.talking:
            floor = st.logout(floor, name, now)
    for name, r in want.items():
        try:
            floor = st.login(floor, name, r.agent, r.agent_name, r.login_at, standby=r.standby, lawyer=r.lawyer)
        except st.SeatError:
            continue  # the seat's agent is still talking here; taken over after the call
        seat = floor.seats[name]
        if seat.agent == r.agent and seat.pause != r.pause:
            floor = floor.with_seat(replace(seat, pause=r.pause, since=now))
    return floor


def with_remote_calls(
    floor: st.Floor,
    calls: dict[str, str],
    hosted: frozenset[str],
    now: float,
    shown: frozenset[str] = frozenset(),
    callers: dict[str, str] | None = None,
) -> tuple[st.Floor, frozenset[str]]:
    """Seats other nodes hold show the call their node published (pure):
    ringing, talking, or in wrap-up (kept a few seconds at a time, renewed
    with each heartbeat), so the seat map and a logout see the whole floor.
    shown: the seats that showed another node's call until now; one that
    has come to this node drops it (its own queue's events say from now on).
    Returns the floor and the seats now showing another node's call."""
    for name in shown & hosted:
        seat = floor.seats[name]
        floor = floor.with_seat(replace(seat, ringing=False, talking=False, wrapup_until=None, caller="", since=now))
    showing = set()
    for name, seat in floor.seats.items():
        if name in hosted or not seat.logged_in:
            continue
        if name not in shown and (seat.ringing or seat.talking or seat.wrapup_until is not None):
            continue  # a call of this node's own (the seat moved on meanwhile): its events say
        state = calls.get(name, "")
        if state:
            showing.add(name)
        wrapup = now + REMOTE_WRAPUP_S if state == "wrapup" else None
        caller = (callers or {}).get(name, "") if state in ("ringing", "talking") else ""
        before = (seat.ringing, seat.talking, seat.wrapup_until is not None)
        after = (state == "ringing", state == "talking", wrapup is not None)
        if before != after or wrapup is not None or seat.caller != caller:
            since = seat.since if before == after or before == (*after[:2], True) else now
            floor = floor.with_seat(
                replace(seat, ringing=after[0], talking=after[1], wrapup_until=wrapup, caller=caller, since=since)
            )
    return floor, frozenset(showing)


class SharedFloor:
    floor: st.Floor
    sessions: async_sessionmaker
    reconciler: Reconciler
    hosted: frozenset[str] | None
    placed_on: dict[str, str]
    remote_shown: frozenset[str] = frozenset()  # seats showing another node's call
    # Arrival order across nodes with no wrap-up: seconds a seat whose call
    # just ended waits for the leader to move it (cluster/app.py; none on one node).
    order_hold: Callable[[str], float] | None = None
    held: frozenset[str] = frozenset()  # seats held so now
    # In a cluster (cluster/asks.py): ask(node, what) of the node holding a seat.
    ask_holder: Callable[[str, dict[str, str]], None] | None = None

    def now(self) -> float:
        raise NotImplementedError

    def _apply(self, floor: st.Floor) -> None:
        raise NotImplementedError

    def restrict(self, seats: frozenset[str] | None, placed_on: dict[str, str] | None = None) -> None:
        """The seats this node's queue holds (None: every logged-in seat), and
        where each seat is placed (shown on the seat map)."""
        if placed_on is not None:
            self.placed_on = placed_on
        if seats != self.hosted:
            self.hosted = seats
            self.reconciler.poke()
        self._release_holds()

    def note(self, kind: str, seat: str, detail: str, actor: str = "", store: bool = True) -> None:
        raise NotImplementedError

    def held_elsewhere(self, seat: str) -> str | None:
        """The node whose queue holds a seat (and so its calls) when not this one."""
        if self.hosted is None or seat in self.hosted:
            return None
        return self.placed_on.get(seat) or None

    def end_wrapup(self, seat: str, actor: str) -> st.Seat:
        """The agent is ready before the wrap-up time is up. A seat another
        node holds is paused in that node's queue until then: ended there too."""
        self._apply(st.end_wrapup(self.floor, seat, self.now()))
        node = self.held_elsewhere(seat)
        if node is not None and self.ask_holder is not None:
            self.ask_holder(node, {"op": "wrapup-end", "seat": seat, "agent": actor})
        return self.floor.seats[seat]

    def wrapup_ended_elsewhere(self, seat: str, agent: str, node: str) -> None:
        """The seat's agent ended the wrap-up at a desk another controller serves."""
        s = self.floor.seats.get(seat)
        if s is None or not s.logged_in or s.agent != agent or self.held_elsewhere(seat) is not None:
            return
        if s.wrapup_until is not None:
            self.note("wrapup-end", seat, f"结束整理（节点 {node} 的座席页面）", agent)
            self._apply(st.end_wrapup(self.floor, seat, self.now()))

    def hold_for_order(self, seat: st.Seat) -> float:
        """A seat freed with no wrap-up: how long it shows as in wrap-up
        (paused) so that the leader may move it to a node whose caller came
        first, before this node's queue offers it its own next caller."""
        hold = self.order_hold(seat.name) if self.order_hold is not None and seat.logged_in else 0.0
        if hold > 0:
            self.held = self.held | {seat.name}
        return hold

    def _release_holds(self) -> None:
        """After each placement read: a held seat that was moved, or whose
        reason passed (the earlier caller was served), is ready at once; its
        queue here was told to let it go first, so it never rings here meanwhile."""
        for name in self.held:
            seat = self.floor.seats.get(name)
            if seat is not None and seat.logged_in and seat.wrapup_until is not None:
                if self.order_hold is not None and self.order_hold(name) > 0:
                    continue
                self._apply(st.end_wrapup(self.floor, name, self.now()))
            self.held = self.held - {name}

    def show_remote(self, calls: dict[str, str], callers: dict[str, str] | None = None) -> None:
        """The calls of seats other nodes hold (seat -> ringing | talking | wrapup), and their callers."""
        if self.hosted is not None:
            floor, self.remote_shown = with_remote_calls(
                self.floor, calls, self.hosted, self.now(), self.remote_shown, callers
            )
            self._apply(floor)

    async def sync_intent(self) -> None:
        raise NotImplementedError

    async def sync_shared(self) -> None:
        """Take over the logins and the lead's choices made at other controllers."""
        await self.sync_logins()
        await self.sync_intent()

    async def sync_logins(self) -> None:
        """Take over what other controllers stored since the last look."""
        before = self.floor
        async with self.sessions() as db:
            rows = list((await db.scalars(select(AgentSession))).all())
        if self.floor.sittings != before.sittings or any(
            self.floor.seats[n].pause != s.pause for n, s in before.seats.items()
        ):
            return  # an agent's command here meanwhile: the next look takes both
        self._apply(with_sessions(self.floor, rows, self.now()))
