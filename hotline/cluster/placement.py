"""Where each seat takes queue calls: one node at a time (pure).

app_queue shares nothing between servers, so the cluster behaves as one
queue by moving seats, not callers: a seat is a member of one node's queue at
a time (the SIP edge lets any node ring it), and the leader places it. A
caller waiting on node A while a seat idles on node B is served by moving
that seat to A, which costs one QueueRemove on B and one QueueAdd on A, and
the caller never hears a transfer. Moving the caller instead would mean a
new call leg through the edge and its place in A's queue lost.

The rules, in order:
- a logged-in seat with no place, or placed on a node that is down, goes to
  the live node with the fewest seats (the most callers waiting on a tie);
- callers waiting on a node, oldest first, draw free seats from nodes where
  nobody waits, and for arrival order the seats in wrap-up on nodes whose
  oldest caller came more than `settle` seconds later (with no wrap-up, a
  seat freed on such a node is held as if in wrap-up until the leader has
  moved it: `order_first`); a seat moved that way less than `settle`
  seconds ago stays;
- a seat whose desk's browser phone is registered at a node stays on that
  node (no other can ring it) and is never drawn elsewhere;
- a seat joins its new node's queue only once no other live node has it as
  a member or on a call (`hosts`), so two nodes never ring it at once.
Lawyers' seats form a pool of their own over the nodes' lawyer queues
(`plan_floor`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """One node's queue as its controller last published it."""

    node: str
    up: bool  # controller heard from and its Asterisk up
    waiting: tuple[float, ...] = ()  # when each waiting caller joined (epoch s)
    members: frozenset[str] = frozenset()  # seats in its queue now (its PBX mirror)
    busy: frozenset[str] = frozenset()  # seats ringing, talking or in wrap-up there
    free: frozenset[str] = frozenset()  # members that would take a call right now
    ringing: frozenset[str] = frozenset()  # of busy: ringing now
    talking: frozenset[str] = frozenset()  # of busy: on a call now (the rest are in wrap-up)
    in_ivr: int = 0  # callers in the IVR there
    # The node's lawyer queue: the same rules place lawyers' seats by it.
    lawyer_waiting: tuple[float, ...] = ()
    lawyer_members: frozenset[str] = frozenset()
    lawyer_free: frozenset[str] = frozenset()
    # Seats whose desk's browser phone is registered at this node's Asterisk
    # (through its controller's relay): only this node can ring them.
    webphones: frozenset[str] = frozenset()
    # Who each of its ringing or talking seats is on the phone with (other nodes' seat maps).
    callers: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    # The line plan, published by the leader only (acd/floor_plan.py reads it).
    plan: Mapping[str, object] | None = field(default=None, compare=False, hash=False)

    def for_lawyers(self) -> NodeLoad:
        """The node as the lawyers' pool sees it: its lawyer queue."""
        return replace(
            self,
            waiting=self.lawyer_waiting,
            members=self.lawyer_members,
            free=self.lawyer_free,
            lawyer_waiting=(),
            lawyer_members=frozenset(),
            lawyer_free=frozenset(),
        )

    def calls(self) -> dict[str, str]:
        """seat -> ringing | talking | wrapup, for the seat maps of other nodes."""
        return {s: "talking" if s in self.talking else "ringing" if s in self.ringing else "wrapup" for s in self.busy}


@dataclass(frozen=True, slots=True)
class Placed:
    node: str
    at: float  # when it was placed there (epoch s)
    why: str = "new"


@dataclass(frozen=True, slots=True)
class Move:
    seat: str
    to: str
    why: str  # new | node-down | waiting | order | phone


@dataclass(frozen=True, slots=True)
class Plan:
    moves: tuple[Move, ...] = ()
    forget: tuple[str, ...] = ()  # placements of seats nobody is logged in at


WHY_TEXT = {
    "new": "登录后分配",
    "node-down": "原节点故障",
    "waiting": "支援排队来电",
    "order": "先到先接：支援更早排队的来电",
    "phone": "网页电话登记在此节点",
}


def plan(
    seats: Sequence[str], placed: Mapping[str, Placed], loads: Mapping[str, NodeLoad], now: float, settle: float
) -> Plan:
    """seats: the logged-in seats that take queue calls, cluster-wide."""
    live = sorted(n for n, load in loads.items() if load.up)
    if not live:
        return Plan()
    where = {s: p.node for s, p in placed.items()}
    count = {n: sum(1 for s in seats if where.get(s) == n) for n in live}
    moves: list[Move] = []

    def move(seat: str, to: str, why: str) -> None:
        if seat in where and where[seat] in count:
            count[where[seat]] -= 1
        where[seat] = to
        count[to] += 1
        moves.append(Move(seat, to, why))

    # A seat answered on the desk's browser phone stays where that phone is registered.
    pinned = {s: n for n in live for s in loads[n].webphones}
    for seat in sorted(seats):
        if seat in pinned and where.get(seat) != pinned[seat]:
            move(seat, pinned[seat], "phone")
        elif where.get(seat) not in count:
            to = min(live, key=lambda n: (count[n], -len(loads[n].waiting), n))
            move(seat, to, "node-down" if seat in where else "new")

    moved_now = {m.seat for m in moves}
    # Only a seat moved to serve callers is held back (two busy nodes would
    # pass it to and fro); one placed at login or after a failure moves at once.
    settled = {
        s
        for s, p in placed.items()
        if (p.why not in ("waiting", "order") or now - p.at >= settle) and s not in moved_now and s not in pinned
    }
    for x in sorted((n for n in live if loads[n].waiting), key=lambda n: (loads[n].waiting[0], n)):
        load = loads[x]
        arriving = {s for s in seats if where.get(s) == x and s not in load.members}
        need = len(load.waiting) - len(load.free) - len(arriving)
        # Free seats where nobody waits; then, for arrival order, seats in
        # wrap-up on nodes whose callers came more than `settle` s later than
        # x's oldest (they join x when their wrap-up ends, not y's queue).
        donors = [(y, loads[y].free) for y in live if y != x and not loads[y].waiting]
        donors += [
            (y, loads[y].busy - loads[y].ringing - loads[y].talking)
            for y in live
            if y != x and loads[y].waiting and loads[y].waiting[0] - load.waiting[0] > settle
        ]
        for y, offered in donors:
            for seat in sorted(offered & settled):
                if need <= 0:
                    break
                if where.get(seat) == y:
                    move(seat, x, "waiting" if not loads[y].waiting else "order")
                    need -= 1
    logged_in = set(seats)
    return Plan(tuple(moves), tuple(sorted(s for s in placed if s not in logged_in)))


def order_first(
    node: str,
    seat: str,
    placed: Mapping[str, Placed],
    loads: Mapping[str, NodeLoad],
    waiting: Sequence[float],
    now: float,
    settle: float,
    lawyer: bool = False,
) -> bool:
    """Whether a seat whose call just ended on `node`, with no wrap-up to
    hold it, should wait for the leader before this node's queue offers it
    its next caller: a caller on another live node came more than `settle`
    seconds before this node's oldest (`waiting`), and the seat may move (it
    is placed here, its phone is not pinned here, it was not moved to serve
    callers moments ago). Held, it shows as in wrap-up, and `plan` draws it
    to the earlier node as it draws any seat in wrap-up (pure)."""
    p = placed.get(seat)
    if not waiting or p is None or p.node != node:
        return False
    if p.why in ("waiting", "order") and now - p.at < settle:
        return False
    here = loads.get(node)
    if here is not None and seat in here.webphones:
        return False
    oldest = min(waiting)
    for n, load in loads.items():
        theirs = load.lawyer_waiting if lawyer else load.waiting
        if n != node and load.up and theirs and oldest - theirs[0] > settle:
            return True
    return False


def plan_floor(
    seats: Sequence[str],
    lawyers: Sequence[str],
    placed: Mapping[str, Placed],
    loads: Mapping[str, NodeLoad],
    now: float,
    settle: float,
) -> Plan:
    """Both pools by the same rules: the hotline's seats over the nodes'
    hotline queues, lawyers' seats over their lawyer queues, so a caller
    waiting for a lawyer draws a free lawyer and never a general seat."""
    counsel = frozenset(lawyers)
    regular = plan(seats, {s: p for s, p in placed.items() if s not in counsel}, loads, now, settle)
    for_lawyers = {n: load.for_lawyers() for n, load in loads.items()}
    legal = plan(lawyers, {s: p for s, p in placed.items() if s in counsel}, for_lawyers, now, settle)
    return Plan(regular.moves + legal.moves, regular.forget)


def fallen(before: Mapping[str, NodeLoad], now: Mapping[str, NodeLoad]) -> list[NodeLoad]:
    """Nodes that were up and are down now, as they last stood (pure): the
    calls in progress and the callers in their IVR and queue went with them."""
    return [before[n] for n, load in sorted(now.items()) if not load.up and n in before and before[n].up]


def fallen_text(load: NodeLoad) -> str:
    return (
        f"节点 {load.node} 故障：通话中 {len(load.talking)} 通、"
        f"语音导航中 {load.in_ivr} 位、排队中 {len(load.waiting)} 位来电随之中断"
    )


def hosts(
    node: str, seat: str, placed: Mapping[str, Placed], loads: Mapping[str, NodeLoad], lawyer: bool = False
) -> bool:
    """Whether this node's queue (the lawyer queue for a lawyer) should have the seat as a member now."""
    p = placed.get(seat)
    if p is None or p.node != node:
        return False
    return not any(
        seat in (load.lawyer_members if lawyer else load.members) or seat in load.busy
        for n, load in loads.items()
        if n != node and load.up
    )
