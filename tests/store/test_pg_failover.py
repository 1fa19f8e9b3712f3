"""A database URL naming several PostgreSQL hosts finds the one that takes
writes (target_session_attrs=read-write): a synchronous standby promoted by
the operator's own tooling after the primary fails is found again, and no
acknowledged ticket is lost."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.db.models import Ticket
from hotline.db.outage import database_unavailable
from hotline.tickets.store import TicketStore
from tests.conftest import PG_PORT, Clock, make_settings
from tests.pg import PostgresServer

FORM = {"category": "market-consumer", "district": "南城区", "content": "预付卡商家跑路", "caller": "13500000000"}


async def _sql(port: int, statement: str, database: str = "postgres") -> None:
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="hotline", database=database)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_promoted_standby_is_found_again_with_every_acknowledged_ticket(tmp_path: Path) -> None:
    primary, standby = PostgresServer(PG_PORT + 2), PostgresServer(PG_PORT + 3)
    if not primary.available:
        pytest.fail("PostgreSQL is not installed (scripts/bootstrap installs it)")
    primary.start()
    try:
        await _sql(primary.port, "CREATE DATABASE hotline")
        await asyncio.to_thread(standby.start_standby_of, primary)
        # Synchronous: a commit is acknowledged once the standby has it too.
        await _sql(primary.port, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        await _sql(primary.port, "SELECT pg_reload_conf()")
        hosts = f"host=127.0.0.1:{standby.port}&host=127.0.0.1:{primary.port}"
        url = f"postgresql+asyncpg://hotline@/hotline?{hosts}&target_session_attrs=read-write"
        settings = make_settings(tmp_path, database={"url": url})
        await upgrade_async(settings)
        engine = make_engine(settings)
        store = TicketStore(
            settings, sessionmaker(engine), Clock(dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc))
        )
        acknowledged = [(await store.create("sms", "gateway:sms", FORM)).number for _ in range(20)]
        # The standby, listed first, is read-only: the writes went to the primary.
        await asyncio.to_thread(primary.crash)
        await asyncio.to_thread(standby.promote)
        refused = 0
        while len(acknowledged) < 40:
            try:
                acknowledged.append((await store.create("sms", "gateway:sms", FORM)).number)
            except Exception as exc:  # what the web edge answers 503 for
                assert database_unavailable(exc), repr(exc)
                refused += 1
                assert refused < 50, "the promoted standby was never found"
                await asyncio.sleep(0.1)
        async with sessionmaker(engine)() as db:
            stored = set((await db.scalars(select(Ticket.number))).all())
        await engine.dispose()
        assert set(acknowledged) <= stored and len(set(acknowledged)) == 40
        print(f"\nprimary failed, standby promoted: 40 acknowledged, all kept; {refused} refused meanwhile")
    finally:
        standby.stop()
        primary.stop()
