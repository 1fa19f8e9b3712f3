"""The work queue's read models: an item as its holder's desk shows it, and
the floor's summary for the seat map and the lead. JSON is made from them
only at the web edge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from hotline.work import board
from hotline.work.board import KIND_TEXT, Item, State


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    kind: str
    kind_text: str
    title: str
    state: str
    ticket: str
    ref: str
    due_at: float
    created_at: float
    offer_until: float | None
    parked: bool
    overdue: bool
    due_in_s: int  # counts down on the desk by itself
    attempts: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def steady(self) -> ItemView:
        """The view without its countdown: what changing is news to the desk."""
        return replace(self, due_in_s=0)


@dataclass(frozen=True, slots=True)
class HolderView:
    agent: str
    item: int
    kind: str
    kind_text: str
    title: str
    state: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class WorkSummary:
    kinds: tuple[board.KindSummary, ...]
    holders: tuple[HolderView, ...]
    breaches: int

    def as_dict(self) -> dict[str, object]:
        return {
            "kinds": [k.as_dict() for k in self.kinds],
            "holders": [asdict(h) for h in self.holders],
            "breaches": self.breaches,
        }


def item_view(it: Item, now: float) -> ItemView:
    return ItemView(
        it.id,
        it.kind,
        KIND_TEXT.get(it.kind, it.kind),
        it.title,
        it.state.value,
        it.ticket,
        it.ref,
        it.due_at,
        it.created_at,
        it.offer_until,
        it.parked,
        it.due_at < now,
        round(it.due_at - now),
        it.attempts,
    )


def held(items: Iterable[Item]) -> list[Item]:
    """Items offered or accepted, in the queue's order."""
    # Filtered before sorting: a few held among a backlog of thousands waiting.
    return sorted((it for it in items if it.state in (State.OFFERED, State.ACCEPTED)), key=Item.order)


def work_summary(items: Iterable[Item], kinds: Iterable[str], now: float) -> WorkSummary:
    items = list(items)
    per_kind = board.summary(items, kinds, now)
    holders = tuple(
        HolderView(it.agent, it.id, it.kind, KIND_TEXT.get(it.kind, it.kind), it.title, it.state.value, it.due_at < now)
        for it in held(items)
    )
    return WorkSummary(tuple(per_kind), holders, sum(k.breaches for k in per_kind))
