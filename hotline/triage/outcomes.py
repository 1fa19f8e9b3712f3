"""Whether agents take the suggestions (采纳率): after a ticket is submitted
the desk says what it suggested last and whether the agent clicked one; the
category the ticket was filed under is read here, not taken from the desk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import Ticket, TriageOutcome
from hotline.tickets.access import TicketNotFound


class Outcomes:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], dt.datetime]):
        self.sessions = sessions
        self.clock = clock

    async def record(self, number: str, agent: str, version: str, shown: list[str], clicked: bool) -> dict[str, Any]:
        """Once per ticket (a later save of the same ticket is not counted again)."""
        async with self.sessions() as db:
            chosen = await db.scalar(select(Ticket.category).where(Ticket.number == number))
            if chosen is None:
                raise TicketNotFound(f"没有工单 {number}")
            rank = shown.index(chosen) + 1 if chosen in shown else None
            row = TriageOutcome(
                ticket=number,
                agent=agent,
                at=self.clock(),
                version=version,
                shown=shown,
                chosen=chosen,
                rank=rank,
                clicked=clicked,
            )
            db.add(row)
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                return {"ticket": number, "recorded": False}
        return {"ticket": number, "recorded": True, "chosen": chosen, "rank": rank}

    async def figures(self, since: dt.datetime) -> dict[str, Any]:
        """Since then: tickets with suggestions, the share whose category was
        among them (accepted), was the first, and was taken with a click."""
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(TriageOutcome.rank, TriageOutcome.clicked, TriageOutcome.agent).where(
                        TriageOutcome.at >= since
                    )
                )
            ).all()
        n = len(rows)

        def share(count: int) -> float | None:
            return round(count / n, 3) if n else None

        per: dict[str, list[bool]] = {}
        for rank, _, agent in rows:
            per.setdefault(agent, []).append(rank is not None)
        return {
            "since": since,
            "tickets": n,
            "accepted": share(sum(1 for r, _, _ in rows if r is not None)),
            "first": share(sum(1 for r, _, _ in rows if r == 1)),
            "clicked": share(sum(1 for _, c, _ in rows if c)),
            "agents": [
                {"agent": a, "tickets": len(v), "accepted": round(sum(v) / len(v), 3)} for a, v in sorted(per.items())
            ],
        }
