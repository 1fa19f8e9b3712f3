"""A connection of its own to the shared database, held for as long as it lives.

An advisory lock and a LISTEN belong to one session: they die with exactly
that connection, so they never use one from a pool that others borrow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


async def hold_connection(
    url: str,
    what: str,
    work: Callable[[AsyncConnection], Awaitable[None]],
    retry: float,
    lost: Callable[[], None] = lambda: None,
) -> None:
    """work(connection) in AUTOCOMMIT, and again on a new connection `retry`
    seconds after the database was lost (lost() is called first); for ever."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        while True:
            try:
                async with engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await work(conn)
            except (OSError, DBAPIError, SQLAlchemyError, TimeoutError) as exc:
                log.warning("%s: database lost (%s)", what, type(exc).__name__)
            finally:
                lost()
            await asyncio.sleep(retry)
    finally:
        await engine.dispose()
