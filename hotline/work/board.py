"""Who gets which work item: pure rules over items, agents and the clock.

An item waits until it is offered to one agent; the offer lapses after
`offer_seconds` and goes to the next agent; an accepted item stays with its
agent until done, handed back, or parked because the agent went onto a phone
line (phone calls always win). Order: priority, then deadline (the oldest
promise first), then arrival. Nothing here does I/O: the work service
(hotline/work/service.py) persists every decision before acting on it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from hotline.config import LAWYER_SKILL
from hotline.seats.state import Floor
from hotline.seats.state import Status as SeatStatus


class State(str, enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DONE = "done"


KIND_TEXT = {
    "intake": "网络渠道诉求",
    "voicemail": "语音留言",
    "callback": "回拨未接通",
    "revisit": "回访",
    "review": "反馈审核",
    "redispatch": "退单重派",
    "duplicate": "疑似重复并单",
    "legal": "法律咨询留言",
}


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    kind: str
    priority: int
    due_at: float
    created_at: float
    title: str = ""
    skill: str = ""
    ref: str = ""
    ticket: str = ""  # the ticket's number, for kinds about a ticket
    not_before: float = 0.0
    state: State = State.WAITING
    agent: str = ""
    offered_at: float | None = None
    offer_until: float | None = None
    accepted_at: float | None = None
    declined: frozenset[str] = frozenset()
    parked: bool = False
    attempts: int = 0

    def order(self) -> tuple[int, float, float, int]:
        return (self.priority, self.due_at, self.created_at, self.id)

    def held_by(self, agent: str) -> bool:
        return self.agent == agent and self.state in (State.OFFERED, State.ACCEPTED)


@dataclass(frozen=True, slots=True)
class Worker:
    """An agent who may be offered work: logged in, off the lines, not paused."""

    agent: str
    seat: str
    free_since: float
    skills: frozenset[str] = field(default_factory=frozenset)
    lawyer: bool = False

    def can_take(self, item: Item) -> bool:
        if self.lawyer:
            return item.skill == LAWYER_SKILL
        return not item.skill or item.skill in self.skills


def workers(floor: Floor, skills: dict[str, frozenset[str]]) -> list[Worker]:
    """Agents the floor leaves free for work items, longest free first.
    Lawyers between calls of their queue take lawyers' items."""
    out = [
        Worker(s.agent, s.name, s.since, skills.get(s.agent, frozenset()), s.lawyer)
        for s in floor.seats.values()
        # A seat on a phone line is never a worker (a lawyer's is): skipped before its status is worked out.
        if (s.lawyer or not s.on_line)
        and (s.status() in (SeatStatus.OFF_LINE, SeatStatus.STANDBY) or (s.lawyer and s.status() == SeatStatus.READY))
    ]
    return sorted(out, key=lambda w: (w.free_since, w.seat))


@dataclass(frozen=True, slots=True)
class Offer:
    item: int
    agent: str
    until: float


def plan(items: Iterable[Item], free: list[Worker], per_agent: int, offer_seconds: float, now: float) -> list[Offer]:
    """New offers: waiting items in order, each to the first free agent with
    the skill and room, passing over agents who let it lapse before; when
    no other free agent can take it, it goes round again."""
    all_items = list(items)
    load: dict[str, int] = {}
    for it in all_items:
        if it.state in (State.OFFERED, State.ACCEPTED):
            load[it.agent] = load.get(it.agent, 0) + 1
    room = [w for w in free if load.get(w.agent, 0) < per_agent]
    offers: list[Offer] = []
    if not room:
        return offers  # the usual case at a peak: nobody to offer to, nothing to sort
    waiting = sorted((it for it in all_items if it.state == State.WAITING and it.not_before <= now), key=Item.order)
    for it in waiting:
        if not room:
            break
        able = [w for w in room if w.can_take(it)]
        if not able:
            continue
        w = next((w for w in able if w.agent not in it.declined), able[0])
        offers.append(Offer(it.id, w.agent, now + offer_seconds))
        load[w.agent] = load.get(w.agent, 0) + 1
        if load[w.agent] >= per_agent:
            room.remove(w)
    return offers


def offered(item: Item, offer: Offer, now: float) -> Item:
    return replace(item, state=State.OFFERED, agent=offer.agent, offered_at=now, offer_until=offer.until)


def lapsed(items: Iterable[Item], now: float) -> list[Item]:
    """Offers nobody accepted in time."""
    return [it for it in items if it.state == State.OFFERED and it.offer_until is not None and it.offer_until <= now]


def declined(item: Item) -> Item:
    """An offer that lapsed or was refused: back to the queue, not to this agent next."""
    return replace(
        item, state=State.WAITING, agent="", offered_at=None, offer_until=None, declined=item.declined | {item.agent}
    )


def accepted(item: Item, now: float) -> Item:
    return replace(item, state=State.ACCEPTED, offer_until=None, accepted_at=now, parked=False)


def released(item: Item, *, parked: bool) -> Item:
    """Back to the queue in its old place (its order never changed): handed
    back by its agent, or parked because the agent was needed on a line."""
    return replace(item, state=State.WAITING, agent="", offered_at=None, offer_until=None, parked=parked)


def displaced(items: Iterable[Item], free: list[Worker]) -> list[Item]:
    """Items held by agents who are no longer free for work: on a line,
    paused, logged out. An agent who was mid-reply may still submit the
    ticket (it stays theirs until someone else accepts the item)."""
    ok = {w.agent for w in free}
    return [it for it in items if it.state in (State.OFFERED, State.ACCEPTED) and it.agent not in ok]


@dataclass(frozen=True, slots=True)
class KindSummary:
    kind: str
    waiting: int = 0
    offered: int = 0  # offered, not yet accepted
    in_hand: int = 0
    oldest_s: float = 0.0
    breaches: int = 0  # open items past their deadline

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "text": KIND_TEXT.get(self.kind, self.kind),
            "waiting": self.waiting,
            "offered": self.offered,
            "in_hand": self.in_hand,
            "oldest_s": round(self.oldest_s),
            "breaches": self.breaches,
        }


def summary(items: Iterable[Item], kinds: Iterable[str], now: float) -> list[KindSummary]:
    # Counted in plain lists, made into summaries once: the seat map asks
    # after every round, over every open item.
    counts: dict[str, list[float]] = {
        k: [0, 0, 0, 0.0, 0] for k in kinds
    }  # waiting, offered, in hand, oldest, breaches
    for it in items:
        if it.state == State.DONE:
            continue
        c = counts.get(it.kind)
        if c is None:
            c = counts[it.kind] = [0, 0, 0, 0.0, 0]
        if it.state == State.ACCEPTED:
            c[2] += 1
        elif it.state == State.OFFERED:
            c[1] += 1
        elif it.not_before <= now:
            c[0] += 1
            c[3] = max(c[3], now - it.created_at)
        if it.due_at < now:
            c[4] += 1
    return [
        KindSummary(k, waiting=int(c[0]), offered=int(c[1]), in_hand=int(c[2]), oldest_s=c[3], breaches=int(c[4]))
        for k, c in counts.items()
    ]
