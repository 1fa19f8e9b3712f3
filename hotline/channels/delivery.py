"""Delivery of the outbox to the channels' gateways: at least once, in order
per channel, with doubling waits between attempts and a log of each one.
The gateway de-duplicates by the Idempotency-Key header (the message's key
never changes between attempts); 2xx means it has the message.

Waits between attempts are real time (time.time()), not the hotline's
business clock: a gateway comes back on its own schedule."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from hotline import signing
from hotline.config import PEERS, ChannelGateway, Settings
from hotline.db.models import OutboxAttempt, OutboxMessage
from hotline.errors import HotlineError
from hotline.tasks import TaskSet, wait_event

log = logging.getLogger(__name__)

BATCH = 100
IDLE_POLL = 30.0  # seconds


class MessageNotFound(HotlineError):
    error_id = "outbox-message-not-found"
    status = 404


def next_wait(gw: ChannelGateway, attempts: int) -> float:
    """Seconds before attempt number attempts+1 (attempts made so far >= 1)."""
    return min(gw.retry_max, gw.retry_initial * 2 ** max(0, attempts - 1))


class Deliverer:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker,
        tokens: dict[str, str],
        peer_secrets: dict[str, bytes] | None = None,
        leading: Callable[[], bool] = lambda: True,
    ):
        self.settings = settings
        # With several controllers only the leader sends, so a citizen gets
        # each message once (cluster/fence.py); on one node always true.
        self.leading = leading
        self.sessions = sessions
        self.delivered = 0
        self.failed_attempts = 0
        self._wake = asyncio.Event()
        self._tasks = TaskSet("outbox")
        self._http: aiohttp.ClientSession | None = None
        self._tokens = tokens  # channel -> the hotline's bearer token at that gateway
        self._peer_secrets = peer_secrets or {}  # peer (110) -> the shared signing secret

    def start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._tasks.spawn(self._run(), "outbox-delivery")

    async def close(self) -> None:
        await self._tasks.close()
        if self._http is not None:
            await self._http.close()

    def kick(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        # Woken by a commit that queued a message (kick), or when the next
        # retry falls due; polling every second cost two queries a second
        # with nothing to send (bench/native_twin.py's census).
        wait = 0.0
        while True:
            await wait_event(self._wake, wait)
            self._wake.clear()
            try:
                while await self.round() == BATCH:
                    pass
                # A follower sleeps until it leads (kicked) or the idle poll.
                wait = await self._until_due() if self.leading() else IDLE_POLL
            except Exception:
                log.exception("outbox round failed; the next round retries")
                wait = 1.0

    async def _until_due(self) -> float:
        """Seconds until the next pending message falls due; at most
        IDLE_POLL, for messages another process queued without a kick."""
        async with self.sessions() as db:
            due = await db.scalar(select(func.min(OutboxMessage.next_at)).where(OutboxMessage.state == "pending"))
        return IDLE_POLL if due is None else min(max(due - time.time(), 0.05), IDLE_POLL)

    async def round(self) -> int:
        if not self.leading():
            return 0
        now = time.time()
        async with self.sessions() as db:
            due = (
                await db.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.state == "pending", OutboxMessage.next_at <= now)
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                )
            ).all()
            # Order per channel: a channel whose older message still waits to
            # be retried sends nothing newer before it.
            waiting = set(
                (
                    await db.scalars(
                        select(OutboxMessage.channel)
                        .where(OutboxMessage.state == "pending", OutboxMessage.next_at > now)
                        .distinct()
                    )
                ).all()
            )
        blocked = set(waiting)
        for m in due:
            if m.channel in blocked:
                continue
            if not await self._send(m):
                blocked.add(m.channel)
        return len(due)

    async def _send(self, m: OutboxMessage) -> bool:
        gw = self.settings.gateway(m.channel)
        t0 = time.monotonic()
        status: int | None = None
        error = ""
        if gw is None:
            error = "该渠道未配置网关"
        else:
            assert self._http is not None
            body = json.dumps(m.payload, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", "Idempotency-Key": m.key}
            url = gw.url
            if m.channel in PEERS:
                # A peer has one endpoint per kind of message and checks the signature.
                url = f"{gw.url.rstrip('/')}/{m.kind}"
                headers |= signing.headers(self._peer_secrets.get(m.channel, b""), body, time.time())
            else:
                headers["Authorization"] = f"Bearer {self._tokens.get(m.channel, '')}"
            try:
                async with self._http.post(
                    url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=gw.timeout)
                ) as resp:
                    status = resp.status
                    if not 200 <= status < 300:
                        error = f"HTTP {status}: {(await resp.text())[:120]}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200] or "no answer"
        ms = (time.monotonic() - t0) * 1000
        now = time.time()
        attempts = m.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:256]}
        if not error:
            values |= {"state": "delivered", "delivered_at": now}
            self.delivered += 1
        elif gw is None or attempts >= gw.max_attempts:
            values |= {"state": "failed"}
            log.warning(
                "outbox message %s for ticket %s undeliverable after %d attempts: %s",
                m.id,
                m.ticket_number,
                attempts,
                error,
            )
        else:
            values |= {"next_at": now + next_wait(gw, attempts)}
        if error:
            self.failed_attempts += 1
        async with self.sessions() as db, db.begin():
            db.add(OutboxAttempt(message_id=m.id, at=now, status=status, error=error[:256], ms=round(ms, 1)))
            await db.execute(update(OutboxMessage).where(OutboxMessage.id == m.id).values(**values))
        return not error

    async def retry(self, message_id: int) -> None:
        """Send an undeliverable message again (the lead, once the gateway is fixed)."""
        async with self.sessions() as db, db.begin():
            res = await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.state == "failed")
                .values(state="pending", attempts=0, next_at=time.time())
            )
            if res.rowcount != 1:
                raise MessageNotFound(f"没有待重发的消息 {message_id}", message_id=message_id)
        self.kick()

    async def counts(self) -> dict[str, dict[str, int]]:
        async with self.sessions() as db:
            rows = (
                await db.execute(
                    select(OutboxMessage.channel, OutboxMessage.state, func.count()).group_by(
                        OutboxMessage.channel, OutboxMessage.state
                    )
                )
            ).all()
        out: dict[str, dict[str, int]] = {}
        for channel, state, n in rows:
            out.setdefault(channel, {})[state] = n
        return out

    async def log(self, message_id: int) -> list[dict[str, Any]]:
        async with self.sessions() as db:
            rows = (
                await db.scalars(
                    select(OutboxAttempt).where(OutboxAttempt.message_id == message_id).order_by(OutboxAttempt.id)
                )
            ).all()
        return [{"at": r.at, "status": r.status, "error": r.error, "ms": r.ms} for r in rows]
