"""People who log in: agents, shift leads, admins, departments.

Passwords are argon2-hashed; their web sessions live in `sessions.py`.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline.db.models import User, WebSession
from hotline.errors import HotlineError
from hotline.identity import Identity, identity_of
from hotline.roles import Role
from hotline.sessions import session_key

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
# One rule for every password a person sets or is given: the web forms, the
# administrator's page and the CLI all check it here.
PASSWORD_MIN = 10


class AccountError(HotlineError):
    error_id = "account-invalid"
    status = 400


class WrongPassword(HotlineError):
    error_id = "password-wrong"
    status = 403


# Actors the hotline writes into tickets and their history for what no
# person did (the public page, the IVR's survey, start-up): an account with
# one of these names would be taken for them (an account named `public` read
# every untaken public-intake ticket).
RESERVED_NAMES = frozenset(
    {"public", "system", "survey", "ivr", "callback", "gateway", "metrics", "police", "110", "anonymous", "hotline"}
)


async def create_user(
    db: AsyncSession,
    username: str,
    display_name: str,
    roles: list[Role],
    password: str | None = None,
    department: str = "",
    must_change_password: bool = False,
) -> tuple[Identity, str]:
    """Create a user; returns it and the password (generated when not given).
    Which units exist is the caller's to check (people/admin.py)."""
    if not _USERNAME.match(username):
        raise AccountError("用户名：2-64 个字母、数字或 _ . -", field="username")
    if username.lower() in RESERVED_NAMES:
        raise AccountError(f"用户名 {username} 为系统保留（系统以此名义记录操作）", field="username")
    check_roles(roles)
    if await db.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"用户名 {username} 已被使用", field="username")
    password = password or one_time_password()
    check_password(password)
    if Role.LAWYER in roles and Role.AGENT not in roles:
        # A lawyer works at the agents' desk (legal calls and items only).
        roles = [Role.AGENT, *roles]
    if (Role.DEPARTMENT in roles or Role.GRID in roles) and not department:
        raise AccountError("承办单位和网格员账号须指定所属单位（--department 编码）", field="department")
    hashed = await hash_password(password)
    user = User(
        username=username,
        display_name=display_name or username,
        roles=",".join(r.value for r in roles),
        password_hash=hashed,
        department=department,
        must_change_password=must_change_password,
    )
    db.add(user)
    await db.flush()
    return identity_of(user), password


def check_roles(roles: list[Role]) -> None:
    if not roles or {Role.PUBLIC, Role.METRICS, Role.GATEWAY} & set(roles):
        raise AccountError(
            "请至少选择一个角色：agent（坐席员）、lead（值班长）、admin（管理员）、department（承办单位）、"
            "lawyer（律师）、grid（网格员）、leader（领导）",
            field="roles",
        )
    if Role.LEADER in roles and len(set(roles)) > 1:
        raise AccountError("领导账号只读简报，不能兼有其他角色", field="roles")


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"密码至少 {PASSWORD_MIN} 个字符", field="password")


def one_time_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_PASSWORDS, _hasher.hash, password)


def parse_skills(text: str) -> list[str]:
    """'涉企,方言' -> ['涉企', '方言']: what work items may ask of an agent."""
    skills = [x.strip() for x in text.replace("，", ",").split(",") if x.strip()]
    for x in skills:
        if len(x) > 16 or any(c in x for c in "\"'<>\n"):
            raise AccountError(f"技能 {x}：至多 16 个字符，不含引号或尖括号", field="skills")
    if len(",".join(skills)) > 128:
        raise AccountError("技能合计至多 128 个字符", field="skills")
    return list(dict.fromkeys(skills))


async def set_skills(db: AsyncSession, username: str, skills: list[str]) -> None:
    user = await db.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"没有用户 {username}", field="username")
    user.skills = ",".join(skills)


@dataclass(frozen=True, slots=True)
class LoginCandidate:
    who: Identity | None
    password_hash: str


async def find_login(db: AsyncSession, username: str) -> LoginCandidate:
    """The account a login names (read only: no write lock, no transaction)."""
    user = await db.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        return LoginCandidate(None, "")
    return LoginCandidate(identity_of(user), user.password_hash)


def _background_priority() -> None:
    # Linux nice values are per thread and inherited by the threads a thread
    # starts: argon2's lanes (4 threads each) then yield both cores to the
    # event loop that carries the calls. Measured by bench/login_flood.py.
    # Only ever lower the priority: a service started nicer than 15 (Nice=19)
    # may not raise it again, and a failing initializer breaks every login.
    tid = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, tid, max(15, os.getpriority(os.PRIO_PROCESS, tid)))


# One verification at a time, niced: a flood of logins queues here instead of
# taking the CPU the IVR and the AMI events need.
_PASSWORDS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2", initializer=_background_priority)


async def verify_password(candidate: LoginCandidate, password: str) -> Identity | None:
    """argon2 costs ~0.2 s of CPU by design: never inside a database
    transaction, never on the event loop."""
    loop = asyncio.get_running_loop()
    if candidate.who is None:
        # Same cost either way: no user enumeration by timing.
        await loop.run_in_executor(_PASSWORDS, _hasher.hash, password)
        return None
    try:
        await loop.run_in_executor(_PASSWORDS, _hasher.verify, candidate.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return candidate.who


async def change_password(
    sessions: async_sessionmaker[AsyncSession], who: Identity, current: str, new: str, keep_token: str = ""
) -> set[str]:
    """The user sets their own password (and a one-time one stops being
    needed). Every other login of theirs ends: whoever else held one (a
    borrowed or stolen password) is out. Returns the ended sessions' hashes."""
    if len(new) < PASSWORD_MIN:
        raise AccountError(f"新密码至少 {PASSWORD_MIN} 个字符", field="new_password")
    if new == current:
        raise AccountError("新密码不能与当前密码相同", field="new_password")
    async with sessions() as db:
        candidate = await find_login(db, who.username)
    if (
        candidate.who is None
        or candidate.who.user_id != who.user_id
        or await verify_password(candidate, current) is None
    ):
        raise WrongPassword("当前密码不正确", field="current_password")
    hashed = await hash_password(new)
    async with sessions() as db, db.begin():
        await db.execute(
            update(User).where(User.id == who.user_id).values(password_hash=hashed, must_change_password=False)
        )
        ended = set(
            (
                await db.scalars(
                    select(WebSession.token_hash).where(
                        WebSession.user_id == who.user_id, WebSession.token_hash != session_key(keep_token)
                    )
                )
            ).all()
        )
        await db.execute(delete(WebSession).where(WebSession.token_hash.in_(ended)))
    return ended


FIRST_ADMIN_FILE = "first-admin.txt"


async def ensure_first_admin(sessions: async_sessionmaker[AsyncSession], state_dir: os.PathLike[str]) -> str | None:
    """A fresh installation has no one who could log in: create `admin`
    with a one-time password, kept only in the private state folder (and
    printed once by the caller). Returns that password when made now."""
    async with sessions() as db, db.begin():
        users = (await db.execute(select(User.roles))).scalars().all()
        if any(Role.ADMIN.value in roles.split(",") for roles in users):
            return None
        _, password = await create_user(db, "admin", "系统管理员", [Role.ADMIN], must_change_password=True)
    target = Path(state_dir) / FIRST_ADMIN_FILE
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            f"username: admin\npassword: {password}\n"
            "# One-time password: the first login asks for a new one, and this file is then deleted.\n"
        )
    return password
