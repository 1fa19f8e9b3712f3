"""Which pool number X a new binding gets, and the rules around bindings.
Pure: the service passes in the active bindings and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Active:
    x: str
    requester: str
    owner: str


def choose(pool: Iterable[str], active: Iterable[Active], requester: str, owner: str) -> str | None:
    """A number neither party is already bound on: a call to X from either
    of them must name exactly one other party. Of those, the least used now
    (spreading load over the carrier's numbers), then pool order."""
    active = list(active)
    parties = {requester, owner}
    busy = {a.x for a in active if parties & {a.requester, a.owner}}
    load: dict[str, int] = {}
    for a in active:
        load[a.x] = load.get(a.x, 0) + 1
    free = [x for x in pool if x not in busy]
    if not free:
        return None
    return min(free, key=lambda x: load.get(x, 0))


def counterpart(active: Iterable[Active], x: str, caller: str) -> tuple[Active, str] | None:
    """Who a caller to X reaches: the other party of their binding on X."""
    for a in active:
        if a.x == x and caller == a.requester:
            return a, a.owner
        if a.x == x and caller == a.owner:
            return a, a.requester
    return None


def month_start(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first moment of the calendar month `now` is in, where the city is."""
    local = now.astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
