"""People who log in: agents, shift leads, admins, departments.

Passwords are argon2-hashed; web sessions are random tokens of which only a
SHA-256 is stored, so a copied database opens no session.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.db.models import User, WebSession, utcnow
from hotline.errors import HotlineError
from hotline.web.auth import Role

SESSION_TTL = dt.timedelta(hours=12)
_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


class AccountError(HotlineError):
    error_id = "account-invalid"
    status = 400


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    department: str = ""  # department accounts: the code of their department


def _identity(user: User) -> Identity:
    return Identity(user.id, user.username, user.display_name,
                    frozenset(Role(r) for r in user.roles.split(",") if r), user.department or "")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(db: AsyncSession, username: str, display_name: str, roles: list[Role],
                      password: str | None = None, department: str = "") -> tuple[Identity, str]:
    """Create a user; returns it and the password (generated when not given)."""
    if not _USERNAME.match(username):
        raise AccountError("username: 2-64 letters, digits, '_', '.', '-'", field="username")
    if not roles or Role.PUBLIC in roles:
        raise AccountError("roles: give at least one of agent, lead, admin, department", field="roles")
    if await db.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"username {username!r} is taken", field="username")
    password = password or secrets.token_urlsafe(12)
    if len(password) < 8:
        raise AccountError("password: at least 8 characters", field="password")
    if Role.DEPARTMENT in roles and not department:
        raise AccountError("department accounts need --department CODE", field="department")
    hashed = await asyncio.to_thread(_hasher.hash, password)
    user = User(username=username, display_name=display_name or username,
                roles=",".join(r.value for r in roles), password_hash=hashed,
                department=department)
    db.add(user)
    await db.flush()
    return _identity(user), password


async def authenticate(db: AsyncSession, username: str, password: str) -> Identity | None:
    user = await db.scalar(select(User).where(User.username == username, User.active.is_(True)))
    # argon2 takes ~0.2 s of CPU by design: in a thread, so a login never
    # stalls the event loop that carries the AMI events.
    if user is None:
        await asyncio.to_thread(_hasher.hash, password)  # same cost either way: no user enumeration by timing
        return None
    try:
        await asyncio.to_thread(_hasher.verify, user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return _identity(user)


async def open_session(db: AsyncSession, who: Identity) -> str:
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_token_hash(token), user_id=who.user_id,
                      expires_at=utcnow() + SESSION_TTL))
    await db.flush()
    return token


async def session_identity(db: AsyncSession, token: str) -> Identity | None:
    row = await db.get(WebSession, _token_hash(token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = await db.get(User, row.user_id)
    return _identity(user) if user is not None and user.active else None


async def close_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))
