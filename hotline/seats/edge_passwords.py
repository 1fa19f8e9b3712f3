"""Seats' SIP passwords where the SIP edge reads them.

While seats register at the edge ([edge] registrar), Kamailio checks a
seat's password in the shared PostgreSQL database (the view edge_subscriber
over seat_credentials), so the password a desk hands out is the same on
every node. The state folder's secrets.toml stays the source a node's own
Asterisk renders from; this table is seeded from it once and then follows
each rotation."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import SeatCredential


async def seed(sessions: async_sessionmaker[AsyncSession], passwords: Mapping[str, str]) -> int:
    """Seats with no shared password yet get this node's; returns how many."""
    if not passwords:
        return 0
    rows = [{"seat": s, "password": p, "changed_at": func.now()} for s, p in sorted(passwords.items())]
    stmt = insert(SeatCredential).values(rows).on_conflict_do_nothing(index_elements=[SeatCredential.seat])
    async with sessions.begin() as db:
        done = await db.execute(stmt.returning(SeatCredential.seat))
        return len(done.all())


async def store(sessions: async_sessionmaker[AsyncSession], fresh: Mapping[str, str]) -> None:
    """Rotated passwords: the edge refuses the old ones from the next REGISTER on."""
    if not fresh:
        return
    rows = [{"seat": s, "password": p, "changed_at": func.now()} for s, p in sorted(fresh.items())]
    stmt = insert(SeatCredential).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SeatCredential.seat],
        set_={"password": stmt.excluded.password, "changed_at": stmt.excluded.changed_at},
    )
    async with sessions.begin() as db:
        await db.execute(stmt)


async def password(sessions: async_sessionmaker[AsyncSession], seat: str) -> str | None:
    async with sessions() as db:
        found: str | None = await db.scalar(select(SeatCredential.password).where(SeatCredential.seat == seat))
        return found
