"""Which errors mean 'the database is not reachable now' (503, try again) and which are bugs (500)."""

from __future__ import annotations

from asyncpg import exceptions as pg
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from hotline.db.outage import database_unavailable


def wrapped(inner: BaseException) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: a DBAPIError whose orig was caused by asyncpg's error."""
    orig = Exception(str(inner))
    orig.__cause__ = inner
    return DBAPIError("SELECT 1", {}, orig)


def test_a_server_starting_or_gone_is_an_outage() -> None:
    assert database_unavailable(wrapped(pg.CannotConnectNowError("the database system is starting up")))
    assert database_unavailable(wrapped(pg.ConnectionDoesNotExistError("connection was closed")))
    assert database_unavailable(wrapped(pg.AdminShutdownError("terminating connection")))
    assert database_unavailable(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert database_unavailable(ConnectionRefusedError(111, "Connection refused"))
    # asyncpg's connect lets this one through unwrapped while a server shuts down.
    assert database_unavailable(ConnectionResetError(104, "Connect call failed ('127.0.0.1', 5432)"))


def test_a_bug_is_not_an_outage() -> None:
    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not database_unavailable(wrapped(pg.UniqueViolationError("duplicate key")))
    assert not database_unavailable(ValueError("bad"))
    assert not database_unavailable(KeyError("x"))
