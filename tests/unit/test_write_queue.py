"""The shared queue of call records: a moment's writes share one transaction;
a reader waits for the one write it needs, or for what was queued before it
asked, never for writes queued after; a bad write loses only itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hotline.db.batch import Row, WriteQueue, _Many, plan
from hotline.db.engine import make_engine
from tests.conftest import make_settings


def _insert(x: int):  # type: ignore[no-untyped-def]
    async def write(conn: AsyncConnection) -> None:
        await conn.exec_driver_sql("INSERT INTO t (x) VALUES (?)", (x,))

    return write


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database with one table t of numbers, as the writes below fill it."""
    engine = make_engine(make_settings(tmp_path))
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL)")
    yield engine
    await engine.dispose()


async def _rows(engine: object) -> list[int]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return [r[0] for r in (await conn.exec_driver_sql("SELECT x FROM t ORDER BY id")).all()]


async def test_a_reader_waits_for_its_row_and_for_nothing_queued_after(engine: AsyncEngine) -> None:
    async with WriteQueue(engine, linger=0.05, name="test").running() as writes:
        writes.put(_insert(1), key="call-1")
        writes.put(_insert(2))
        await writes.settled("call-1")
        assert await _rows(engine) == [1, 2]  # one batch: the row asked for, and its neighbour
        assert writes.batches == 1
        await writes.settled("never-queued")  # nothing to wait for

        writes.put(_insert(3), key="call-3")
        drained = asyncio.ensure_future(writes.drain())
        await asyncio.sleep(0)
        # A steady stream behind the reader does not hold it back.
        last = 3
        while not drained.done() and last < 200:
            last += 1
            writes.put(_insert(last))
            await asyncio.sleep(0.01)
        assert drained.done() and last < 200
        assert 3 in await _rows(engine)
    # Leaving the block stored everything queued, in order.
    assert await _rows(engine) == list(range(1, last + 1))


async def test_a_bad_write_loses_only_itself_and_still_settles_its_readers(engine: AsyncEngine) -> None:
    async def bad(conn: AsyncConnection) -> None:
        await conn.exec_driver_sql("INSERT INTO t (x) VALUES (NULL)")

    async with WriteQueue(engine, linger=0.05, name="test").running() as writes:
        writes.put(_insert(1))
        writes.put(bad, key="broken")
        writes.put(_insert(2), key="call-2")
        await asyncio.wait_for(writes.settled("broken"), 5)
        await asyncio.wait_for(writes.settled("call-2"), 5)
        assert await _rows(engine) == [1, 2]
        assert writes.failures == 1


async def test_a_waiting_reader_sends_the_batch_without_the_linger(engine: AsyncEngine) -> None:
    # A linger far past the test's deadlines: only a reader's hurry writes anything.
    async with WriteQueue(engine, linger=600, name="test").running() as writes:
        writes.put(_insert(1), key="call-1")
        await asyncio.sleep(0.2)
        assert writes.batches == 0 and await _rows(engine) == []  # nobody asked: it lingers
        await asyncio.wait_for(writes.settled("call-1"), 10)
        assert await _rows(engine) == [1]

        writes.put(_insert(2))
        await asyncio.sleep(0.2)
        await asyncio.wait_for(writes.drain(), 10)
        assert await _rows(engine) == [1, 2]

        # Asked for before the writer took the write: it still does not linger.
        writes.put(_insert(3), key="call-3")
        await asyncio.wait_for(writes.settled("call-3"), 10)
        writes.put(_insert(4))
    assert await _rows(engine) == [1, 2, 3, 4]  # the way out does not wait the linger either


def test_a_batch_merges_rows_of_one_statement_and_keeps_each_rows_writes_in_order() -> None:
    ins, upd_a, upd_b = object(), object(), object()

    async def other(conn: AsyncConnection) -> None:
        return None

    batch = [
        Row(upd_a, {"u": 0}),
        Row(ins, {"u": 1}, first=True),
        Row(upd_a, {"u": 1}),
        Row(upd_a, {"u": 2}),
        other,
        Row(ins, {"u": 2}, first=True),
        Row(upd_b, {"u": 1}),
        Row(upd_a, {"u": 3}),
    ]
    steps = plan(batch)
    shown = [(s.statement, s.params) if isinstance(s, _Many) else s for s in steps]
    assert shown == [
        (ins, [{"u": 1}, {"u": 2}]),  # the order-free inserts first, as one executemany
        (upd_a, [{"u": 0}, {"u": 1}, {"u": 2}]),  # a run of one statement, merged
        other,
        (upd_b, [{"u": 1}]),
        (upd_a, [{"u": 3}]),  # not merged across another write: that write may touch its row
    ]


async def test_rows_are_stored_as_executemany_with_their_updates_after_their_inserts(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path))
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE q (uid TEXT PRIMARY KEY, state TEXT NOT NULL)")
            await conn.exec_driver_sql("INSERT INTO q VALUES ('old', 'kept')")
        q = sa.table("q", sa.column("uid"), sa.column("state"))
        ins = sqlite.insert(q).on_conflict_do_nothing(index_elements=["uid"])
        upd = sa.update(q).where(q.c.uid == sa.bindparam("b_uid")).values(state=sa.bindparam("s"))
        async with WriteQueue(engine, linger=600, name="test").running() as writes:
            writes.put(Row(ins, {"uid": "a", "state": "waiting"}, first=True))
            writes.put(Row(upd, {"b_uid": "a", "s": "answered"}))
            writes.put(Row(ins, {"uid": "old", "state": "overwritten?"}, first=True))
            writes.put(Row(ins, {"uid": "b", "state": "waiting"}, first=True), key="b")
            writes.put(Row(upd, {"b_uid": "b", "s": "abandoned"}))
            await writes.drain()
            assert writes.batches == 1
        async with engine.connect() as conn:
            rows = dict((await conn.exec_driver_sql("SELECT uid, state FROM q")).all())
        assert rows == {"old": "kept", "a": "answered", "b": "abandoned"}
    finally:
        await engine.dispose()
