"""Ticket changes as events: the one way features learn what happened to a
ticket.

The ticket store publishes a TicketMove for every change of state (and for
every ticket taken in) to the hooks registered at wiring time, inside the
same transaction: the work queue's items and the citizen's message commit
with the change or not at all, and the ticket store imports neither. After
the commit, `committed` listeners get the transaction's `info` dict, where a
subscriber may have left what it wants to act on at once (the work queue:
the items it made and ended).

In-process events in the hotline travel this way, or by a service's
`subscribe(listener)` when nothing must share a transaction (the ACD's
floor, the PBX watch): one hook list per publisher, registered by the app
wiring, never assigned from outside."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import Ticket
from hotline.tickets.duplicates import Candidate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TicketMove:
    """A ticket changed (its row already holds the new state)."""

    db: AsyncSession  # the transaction it changed in: hooks write in it
    ticket: Ticket
    action: str  # accept (taken in), answer, dispatch, feedback, return, approve, reopen, merge, ...
    from_status: str
    note: str
    actor: str
    at: dt.datetime
    label: str  # "<number> <category>": how a work item names it
    department_name: str = ""
    offer: bool = True  # accept: it waits for an agent to take it in
    suspects: tuple[Candidate, ...] = ()  # open tickets it may repeat (found before the transaction)

    @property
    def closed(self) -> bool:
        return self.ticket.status == "closed"


MoveHook = Callable[[TicketMove], Awaitable[None]]
CommitListener = Callable[[dict[str, Any]], None]


class Moves:
    def __init__(self) -> None:
        self._hooks: list[MoveHook] = []
        self._committed: list[CommitListener] = []

    def on_move(self, hook: MoveHook) -> None:
        self._hooks.append(hook)

    def on_commit(self, listener: CommitListener) -> None:
        self._committed.append(listener)

    async def publish(self, move: TicketMove) -> None:
        # Inside the transaction: a hook that fails fails the change.
        for hook in self._hooks:
            await hook(move)

    def committed(self, info: dict[str, Any]) -> None:
        for listener in self._committed:
            try:
                listener(info)
            except Exception:
                log.exception("ticket commit listener %r failed", listener)
