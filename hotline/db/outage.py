"""Whether an error means the database cannot be reached right now (a
PostgreSQL server restarting, a connection cut), as opposed to a bug."""

from __future__ import annotations

from asyncpg import exceptions as pg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# asyncpg's own: the server is shutting down or starting (57P01-03), or the
# connection is gone (08xxx). SQLAlchemy wraps them, keeping them as causes.
_PG_OUTAGES = (pg.PostgresConnectionError, pg.AdminShutdownError, pg.CrashShutdownError, pg.CannotConnectNowError)


def database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    ):
        return True
    seen: BaseException | None = exc
    for _ in range(4):  # the error, what SQLAlchemy wrapped, what that wrapped
        if seen is None:
            return False
        if isinstance(seen, (ConnectionError, *_PG_OUTAGES)):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
