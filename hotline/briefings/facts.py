"""The tickets' facts a briefing counts, read from the database in batches."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.briefings import compose
from hotline.db.models import Ticket


async def read_facts(db: AsyncSession, *where: ColumnElement[bool]) -> dict[int, compose.TicketFact]:
    """The tickets' facts by id, read in batches: a month of a large city and
    the weeks before are hundreds of thousands of rows, so no list of rows
    is held beside them, and the few distinct codes and names (channel,
    category, district, unit, status) are one string each, not one a row."""
    facts: dict[int, compose.TicketFact] = {}
    same: dict[str, str] = {}
    result = await db.stream(
        select(*_FACT_COLUMNS).where(Ticket.merged_into == "", *where).execution_options(yield_per=FACTS_BATCH)
    )
    async for batch in result.partitions():
        for row in batch:
            values = list(row)
            for i in _SHARED:
                values[i] = same.setdefault(values[i], values[i])
            facts[values[0]] = compose.TicketFact(*values)
    return facts


FACTS_BATCH = 2000
_FACT_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.created_at,
    Ticket.channel,
    Ticket.category,
    Ticket.district,
    Ticket.address,
    Ticket.department,
    Ticket.status,
    Ticket.deadline_at,
    Ticket.feedback_at,
    Ticket.closed_at,
    Ticket.satisfaction,
    Ticket.redispatches,
)
# channel, category, district, unit and status: a few distinct values each.
_SHARED = (3, 4, 5, 7, 8)
