"""One leader among controllers sharing PostgreSQL, and decisions made once,
on the session's private PostgreSQL server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import zoneinfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.cluster.decisions import AlreadyDecided, NotLeader, decide
from hotline.cluster.fence import Fence
from hotline.cluster.leader import Leadership
from hotline.cluster.presence import Presence
from hotline.db.models import ClusterDecision
from tests.conftest import ROOT
from tests.integration.helpers import eventually

FAST = {"poll": 0.2, "heartbeat": 0.3}


async def test_exactly_one_leads_and_another_takes_over_when_it_stops(url: str) -> None:
    a, b = Leadership(url, "a", **FAST), Leadership(url, "b", **FAST)
    seen: list[int | None] = []
    b.subscribe(seen.append)
    await a.start()
    await eventually(lambda: a.leading, timeout=10)
    await b.start()
    await asyncio.sleep(1.0)
    assert a.leading and not b.leading
    first = a.epoch
    assert first is not None
    await a.close()
    await eventually(lambda: b.leading, timeout=10)
    assert b.epoch == first + 1 and seen == [first + 1]
    await b.close()
    assert seen == [first + 1, None]


async def test_a_leader_killed_with_minus_9_is_replaced_within_seconds(url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.leader_child", url, "a"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    b = Leadership(url, "b", **FAST)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 20)
        assert line.startswith("leading ")
        await b.start()
        await asyncio.sleep(1.0)
        assert not b.leading
        killed = time.monotonic()
        child.kill()
        await eventually(lambda: b.leading, timeout=10)
        print(f"\nleader killed with -9 -> new leader in {time.monotonic() - killed:.2f} s")
        assert b.epoch == int(line.split()[1]) + 1
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
        await b.close()


async def test_a_decision_of_an_ended_term_is_refused_and_none_is_made_twice(
    url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    a, b = Leadership(url, "a", **FAST), Leadership(url, "b", **FAST)
    await a.start()
    await eventually(lambda: a.leading, timeout=10)
    old = a.epoch
    assert old is not None
    async with sessions.begin() as s:
        await decide(s, epoch=old, node="a", kind="briefing", key="daily:2026-12-01")
    with pytest.raises(AlreadyDecided):
        async with sessions.begin() as s:
            await decide(s, epoch=old, node="a", kind="briefing", key="daily:2026-12-01")
    await b.start()
    await a.close()
    await eventually(lambda: b.leading, timeout=10)
    # A's term is over: what A still tries to decide is refused.
    with pytest.raises(NotLeader):
        async with sessions.begin() as s:
            await decide(s, epoch=old, node="a", kind="briefing", key="daily:2026-12-02")
    assert b.epoch is not None
    async with sessions.begin() as s:
        await decide(s, epoch=b.epoch, node="b", kind="briefing", key="daily:2026-12-02")
    await b.close()
    async with sessions() as s:
        rows = (await s.execute(select(ClusterDecision.key, ClusterDecision.node, ClusterDecision.epoch))).all()
    assert sorted(rows) == [("daily:2026-12-01", "a", old), ("daily:2026-12-02", "b", old + 1)]


async def test_a_new_term_waits_for_a_decision_in_flight(url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    a, b = Leadership(url, "a", **FAST), Leadership(url, "b", **FAST)
    await a.start()
    await eventually(lambda: a.leading, timeout=10)
    assert a.epoch is not None
    async with sessions.begin() as s:
        await decide(s, epoch=a.epoch, node="a", kind="plan", key="lines:2026-12-02T08:00")
        await b.start()
        await a.close()
        # B has the lock but not the term while A's decision is still open.
        await asyncio.sleep(1.0)
        assert not b.leading
    await eventually(lambda: b.leading, timeout=10)
    await b.close()


async def test_every_node_sees_every_heartbeat_and_a_silent_node_goes_down(
    url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    a = Presence(sessions, "a", Fence(), lambda: True, every=0.2, tz=tz)
    b = Presence(sessions, "b", Fence(), lambda: False, every=0.2, tz=tz)
    await a.beat()
    seen = await b.beat()
    assert [(n.node, n.up, n.pbx_up, n.last_seen) for n in seen] == [("a", True, True, None), ("b", True, False, None)]
    await asyncio.sleep(0.7)  # a is silent for more than three heartbeats
    seen = await b.beat()
    down = seen[0]
    assert (down.node, down.up, down.leading) == ("a", False, False)
    assert down.last_seen is not None and down.last_seen_text == down.last_seen.astimezone(tz).strftime("%H:%M:%S")
    # a comes back: up again on b's next look.
    await a.beat()
    assert [n.up for n in await b.beat()] == [True, True]
