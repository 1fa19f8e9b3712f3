"""Fixtures of the PostgreSQL-backed cluster tests: a fresh database with the
schema, and sessions on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from hotline.db.migrate import upgrade_async
from tests.conftest import make_settings
from tests.pg import PostgresServer


@pytest.fixture
async def url(postgres: PostgresServer, tmp_path: Path) -> str:
    url = await postgres.new_database()
    await upgrade_async(make_settings(tmp_path, database={"url": url}))
    return url


@pytest.fixture
async def sessions(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()
