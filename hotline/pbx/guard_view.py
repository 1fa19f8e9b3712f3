"""What the SIP guard shows: its page and its metrics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import select

from hotline.db.models import SipBlock
from hotline.pbx.sipguard import SipGuard


async def guard_view(guard: SipGuard, tz: dt.tzinfo) -> dict[str, Any]:
    """The blocks, the rule and the recent failures for the admin's page, in the city's time."""

    def when(at: float) -> str:
        return dt.datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M:%S")

    async with guard.sessions() as db:
        rows = (await db.execute(select(SipBlock).order_by(SipBlock.id.desc()).limit(50))).scalars().all()
    return {
        "enabled": guard.enabled,
        "rule": {
            "failures": guard.ledger.limit,
            "window_seconds": guard.ledger.window,
            "block_seconds": guard.ledger.block_seconds,
        },
        "applied": guard.applied is not None and guard.applied == tuple(sorted(guard.ledger.blocked)),
        "blocked": [
            {
                "address": b.address,
                "failures": b.failures,
                "accounts": list(b.accounts),
                "at": when(b.at),
                "until": when(b.until),
            }
            for b in sorted(guard.ledger.blocked.values(), key=lambda b: -b.at)
        ],
        "history": [
            {
                "address": r.address,
                "failures": r.failures,
                "accounts": r.accounts,
                "at": when(r.blocked_at.timestamp()),
                "until": when(r.until.timestamp()),
                "lifted_at": when(r.lifted_at.timestamp()) if r.lifted_at else None,
                "lifted_by": r.lifted_by,
            }
            for r in rows
        ],
        "recent_failures": [
            {
                "at": when(f.at),
                "address": f.address,
                "account": f.account,
                "kind": "密码错误" if f.kind == "ChallengeResponseFailed" else "账号不存在（未计数）",
            }
            for f in reversed(guard.recent)
        ][:30],
        "alerts": [
            {"at": when(a.at), "address": a.address, "failures": a.failures, "accounts": list(a.accounts)}
            for a in reversed(guard.alerts)
        ],
        "failures_total": guard.failures_total,
        "unverified_total": guard.unverified_total,
    }


def guard_metrics(registry: Any, guard: SipGuard) -> Callable[[], Awaitable[None]]:
    blocked = Gauge("hotline_sip_blocked_addresses", "Addresses refused at the SIP ACL now", registry=registry)
    failures = Gauge("hotline_sip_auth_failures", "Failed SIP authentications seen since start", registry=registry)
    blocks = Gauge("hotline_sip_blocks", "Addresses blocked since start", registry=registry)

    async def update() -> None:
        blocked.set(len(guard.ledger.blocked))
        failures.set(guard.failures_total)
        blocks.set(guard.blocks_total)

    return update
