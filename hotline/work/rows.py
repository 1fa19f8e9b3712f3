"""Work items as other features write them: inside their own transaction, so
a ticket change and the work it creates or ends commit together (or not at
all). The work service (service.py) picks the rows up and offers them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import WorkEvent, WorkItem
from hotline.work.board import Item, State
from hotline.work.policy import WorkPolicy


@dataclass
class WorkNews:
    """What one transaction did to the work queue, handed to the queue after
    the commit so it need not read it back (the offer waits on nothing)."""

    made: list[WorkItem] = field(default_factory=list)  # their ids come with the commit's flush
    finished: list[int] = field(default_factory=list)

    @property
    def created(self) -> list[Item]:
        """The items made (read after the commit)."""
        return [item_of(row) for row in self.made]

    def __bool__(self) -> bool:
        return bool(self.made or self.finished)


# Where a transaction's news waits for its commit: the session's own `info`
# dict, which the ticket store hands to its commit listeners.
_NEWS = "work_news"


def _news(db: AsyncSession) -> WorkNews:
    news: WorkNews = db.info.setdefault(_NEWS, WorkNews())
    return news


def news_of(info: dict[str, Any]) -> WorkNews | None:
    """What a committed transaction did to the work queue (None: nothing known)."""
    news = info.get(_NEWS)
    return news if isinstance(news, WorkNews) else None


def item_of(row: WorkItem) -> Item:
    # Items about a ticket are referred to by its number.
    return Item(
        id=row.id,
        kind=row.kind,
        priority=row.priority,
        due_at=row.due_at,
        created_at=row.created_at,
        title=row.title,
        skill=row.skill,
        ref=row.ref,
        ticket=row.ref if row.ticket_id else "",
        not_before=row.not_before,
        state=State(row.state),
        agent=row.agent,
        offered_at=row.offered_at,
        offer_until=row.offer_until,
        accepted_at=row.accepted_at,
        declined=frozenset(row.declined or ()),
        parked=row.parked,
        attempts=row.attempts,
    )


async def enqueue(
    db: AsyncSession,
    policy: WorkPolicy,
    *,
    kind: str,
    now: dt.datetime,
    title: str,
    ref: str = "",
    ticket_id: int | None = None,
    category: str = "",
    due_at: float | None = None,
    not_before: float = 0.0,
    fresh: bool = False,
) -> WorkItem | None:
    """One open item per kind and reference (for items about a ticket, the
    reference is its number): a source written twice (a retried
    request, a second feedback) never makes two. fresh: the reference was
    made in this very transaction (a new ticket), so nothing about it can be
    open yet and the look is saved."""
    if not fresh:
        open_id = await db.scalar(
            select(WorkItem.id)
            .where(WorkItem.kind == kind, WorkItem.ref == ref, WorkItem.state != State.DONE.value)
            .limit(1)
        )
        if open_id is not None:
            return None
    at = now.timestamp()
    item = WorkItem(
        kind=kind,
        ref=ref,
        ticket_id=ticket_id,
        title=title[:128],
        skill=policy.skill(kind, category),
        priority=policy.priority(kind),
        state=State.WAITING.value,
        agent="",
        created_at=at,
        not_before=not_before,
        due_at=due_at if due_at is not None else policy.deadline(kind, now),
        declined=[],
        parked=False,
        attempts=0,
        outcome="",
        note="",
    )
    # No flush for the item's id: the event refers to the item itself, and
    # the commit writes a transaction's items in one statement, their events
    # in another (bench/channel_intake.py: a flush per item cost a tenth of an intake).
    db.add(item)
    db.add(WorkEvent(item=item, at=at, action="created", agent="", note=title[:200]))
    _news(db).made.append(item)
    return item


async def finish(
    db: AsyncSession, *, ticket_id: int, kinds: Iterable[str], outcome: str, actor: str, now: dt.datetime
) -> list[int]:
    """End the open items of these kinds about a ticket (the ticket change
    that does their work is in the same transaction)."""
    rows = (
        await db.scalars(
            select(WorkItem).where(
                WorkItem.ticket_id == ticket_id, WorkItem.kind.in_(list(kinds)), WorkItem.state != State.DONE.value
            )
        )
    ).all()
    at = now.timestamp()
    for r in rows:
        r.state, r.done_at, r.outcome, r.offer_until = State.DONE.value, at, outcome[:32], None
        r.agent = r.agent or actor
        db.add(WorkEvent(item_id=r.id, at=at, action="done", agent=actor, note=outcome))
    _news(db).finished.extend(r.id for r in rows)
    return [r.id for r in rows]
