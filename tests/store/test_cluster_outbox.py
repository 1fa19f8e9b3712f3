"""With several controllers, a citizen's reply goes out once: only the leader
delivers the outbox, and a new leader sends what waited for it."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.channels.delivery import Deliverer
from hotline.cluster.fence import Fence
from hotline.cluster.leader import Leadership
from hotline.db.models import OutboxMessage
from tests.conftest import PG_PORT, make_settings
from tests.integration.gateway_sim import GatewaySim
from tests.integration.helpers import eventually

FAST = {"poll": 0.2, "heartbeat": 0.3}
# Beside the session's ports, so the suite's own SMS gateway never collides.
GATEWAY_PORT = PG_PORT + 2700
TOKEN = "sms-gateway-token"


async def queue(sessions: async_sessionmaker[AsyncSession], key: str) -> None:
    now = time.time()
    async with sessions.begin() as db:
        db.add(
            OutboxMessage(
                channel="sms",
                ticket_number="T1",
                kind="reply",
                key=key,
                payload={"ticket": "T1", "text": "您的诉求已受理"},
                created_at=now,
                next_at=now,
            )
        )


async def test_only_the_leader_delivers_and_each_message_goes_out_once(
    url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, database={"url": url}, channels={"sms": {"url": f"http://127.0.0.1:{GATEWAY_PORT}/replies"}}
    )
    gateway = await GatewaySim(GATEWAY_PORT, TOKEN).start()
    a, b = Leadership(url, "a", **FAST), Leadership(url, "b", **FAST)
    fence_a, fence_b = Fence(a), Fence(b)
    # Wired as channels/app.py wires them.
    on_a = Deliverer(settings, sessions, {"sms": TOKEN}, leading=lambda: fence_a.leading)
    on_b = Deliverer(settings, sessions, {"sms": TOKEN}, leading=lambda: fence_b.leading)
    fence_a.on_lead(on_a.kick)
    fence_b.on_lead(on_b.kick)
    on_a.start()
    on_b.start()
    try:
        await a.start()
        await eventually(lambda: a.leading, timeout=10)
        await b.start()
        await queue(sessions, "reply-1")
        on_a.kick()  # as the commit that queued it does, on both controllers
        on_b.kick()
        await eventually(lambda: len(gateway.received) == 1, timeout=10)
        assert (on_a.delivered, on_b.delivered) == (1, 0)  # a follower sends nothing
        await queue(sessions, "reply-2")
        await a.close()  # the leader goes before it sent reply-2
        await eventually(lambda: b.leading, timeout=10)
        await eventually(lambda: len(gateway.received) == 2, timeout=10)
        assert [r["key"] for r in gateway.received] == ["reply-1", "reply-2"]
        assert (on_a.delivered, on_b.delivered) == (1, 1)
    finally:
        await on_a.close()
        await on_b.close()
        await a.close()
        await b.close()
        await gateway.close()
