"""Web sessions: random tokens of which only a SHA-256 is stored, so a copied
database opens no session; an idle timeout and a hard lifetime."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import User, WebSession, utcnow
from hotline.identity import Identity, identity_of

SESSION_TTL = dt.timedelta(hours=12)  # the longest a session lives, however busy
SESSION_IDLE = dt.timedelta(minutes=30)  # ends after this long without a request


def session_key(token: str) -> str:
    """What a session is known by outside the cookie (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def live_sessions(db: AsyncSession, keys: set[str]) -> set[str]:
    """Of these session keys, those still live (not ended, not expired, the account active)."""
    if not keys:
        return set()
    rows = await db.execute(
        select(WebSession.token_hash)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash.in_(keys), WebSession.expires_at > utcnow(), User.active.is_(True))
    )
    return set(rows.scalars().all())


async def open_session(db: AsyncSession, who: Identity, idle: dt.timedelta = SESSION_IDLE) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        WebSession(
            token_hash=session_key(token), user_id=who.user_id, created_at=now, expires_at=now + min(idle, SESSION_TTL)
        )
    )
    await db.flush()
    return token


async def purge_expired_sessions(db: AsyncSession) -> int:
    result = await db.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class LiveSession:
    who: Identity
    created_at: dt.datetime
    expires_at: dt.datetime


async def session_identity(db: AsyncSession, token: str) -> LiveSession | None:
    """The session's person and its times (None: no such live session)."""
    row = await db.get(WebSession, session_key(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = await db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return LiveSession(identity_of(user), row.created_at, row.expires_at)


def extended_expiry(
    created_at: dt.datetime, expires_at: dt.datetime, now: dt.datetime, idle: dt.timedelta = SESSION_IDLE
) -> dt.datetime | None:
    """A new expiry when activity should push the idle timeout on, else None.

    Sessions end after `idle` without a request and never later than
    SESSION_TTL after login; the expiry moves at most once a minute, so a busy
    page costs one write a minute, not one per request."""
    target = min(now + idle, created_at + SESSION_TTL)
    return target if target - expires_at >= dt.timedelta(minutes=1) else None


async def touch_session(db: AsyncSession, token: str, idle: dt.timedelta = SESSION_IDLE) -> None:
    row = await db.get(WebSession, session_key(token))
    if row is None:
        return
    new = extended_expiry(row.created_at, row.expires_at, utcnow(), idle)
    if new is not None:
        row.expires_at = new


async def close_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.token_hash == session_key(token)))
