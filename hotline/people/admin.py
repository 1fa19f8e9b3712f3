"""User administration: who may log in, with which roles and unit; passwords
reset to a one-time one, accounts disabled and enabled; every change kept
in `user_audit`. The web page and the CLI both go through here, so one
rule holds everywhere (the password rule is accounts.check_password)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hotline import accounts
from hotline.db.models import User, UserAudit, WebSession, utcnow
from hotline.errors import HotlineError
from hotline.people.views import ACTION_TEXT, ROLE_TEXT, UNIT_ROLES, AuditLine, UserView
from hotline.roles import Role


class UserNotFound(HotlineError):
    error_id = "user-not-found"
    status = 404


class UserRefused(HotlineError):
    error_id = "user-refused"
    status = 409


@dataclass(frozen=True, slots=True)
class Changed:
    """What an administrative change did: the user now, and the web sessions
    it ended (their keys, so open pages can be closed too)."""

    user: UserView
    ended: frozenset[str] = frozenset()
    password: str = ""  # a one-time password made by this change, shown once


def parse_roles(raw: object) -> list[Role]:
    """Roles as a person gives them (a list of role names), checked exactly."""
    if type(raw) is not list or not raw or any(type(r) is not str for r in raw):
        raise accounts.AccountError("请至少选择一个角色", field="roles")
    try:
        roles = [Role(r) for r in raw]
    except ValueError:
        known = "、".join(f"{r.value}（{t}）" for r, t in ROLE_TEXT.items())
        raise accounts.AccountError(f"未知角色；可选：{known}", field="roles") from None
    if Role.PUBLIC in roles or Role.METRICS in roles or Role.GATEWAY in roles:
        raise accounts.AccountError("这些角色不能分配给人员账号", field="roles")
    return list(dict.fromkeys(roles))


class UserAdmin:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        units: dict[str, str],
        seat_of: Callable[[str], str] = lambda username: "",
        locked: Callable[[str], bool] = lambda username: False,
    ):
        self.sessions = sessions
        self.units = units  # code -> name: departments and grid stations
        self.seat_of = seat_of
        self.locked = locked

    # -- reads ---------------------------------------------------------------------------
    def view(self, u: User) -> UserView:
        roles = tuple(r for r in u.roles.split(",") if r)
        text = "、".join(ROLE_TEXT.get(Role(r), r) for r in roles)
        return UserView(
            u.username,
            u.display_name,
            roles,
            text,
            u.department or "",
            self.units.get(u.department or "", u.department or ""),
            u.skills or "",
            bool(u.active),
            bool(u.must_change_password),
            u.created_at,
            u.last_login_at,
            self.seat_of(u.username),
            self.locked(u.username),
        )

    async def everyone(self) -> list[UserView]:
        async with self.sessions() as db:
            rows = (await db.scalars(select(User).order_by(User.username))).all()
        return [self.view(u) for u in rows]

    async def get(self, username: str) -> UserView:
        async with self.sessions() as db:
            return self.view(await self._user(db, username))

    async def audit(self, limit: int = 200, username: str | None = None) -> list[AuditLine]:
        q = select(UserAudit).order_by(UserAudit.id.desc()).limit(limit)
        if username:
            q = q.where(UserAudit.username == username)
        async with self.sessions() as db:
            rows = (await db.scalars(q)).all()
        return [
            AuditLine(r.at, r.actor, r.username, r.action, ACTION_TEXT.get(r.action, r.action), r.detail) for r in rows
        ]

    # -- changes -------------------------------------------------------------------------
    async def create(
        self,
        actor: str,
        username: str,
        display_name: str,
        roles: list[Role],
        department: str = "",
        skills: str = "",
        password: str | None = None,
        one_time: bool = True,
    ) -> Changed:
        """A new account; its password is one-time (changed at first login)
        unless the person creating it for themselves chose it (the CLI's stdin)."""
        department = self._unit_of(roles, department)
        skill_list = accounts.parse_skills(skills)
        async with self.sessions() as db, db.begin():
            _, made = await accounts.create_user(
                db, username, display_name, roles, password, department, must_change_password=one_time
            )
            u = await self._user(db, username)
            u.skills = ",".join(skill_list)
            self._audit(db, actor, username, "create", f"角色 {self._roles_text(roles)}" + self._unit_note(department))
        return Changed(await self.get(username), password=made if password is None else "")

    async def edit(
        self,
        actor: str,
        username: str,
        *,
        display_name: str | None = None,
        roles: list[Role] | None = None,
        department: str | None = None,
        skills: str | None = None,
    ) -> Changed:
        async with self.sessions() as db, db.begin():
            u = await self._user(db, username)
            notes = []
            before = self._current(u)
            new_roles = before if roles is None else list(roles)
            if Role.LAWYER in new_roles and Role.AGENT not in new_roles:
                new_roles = [Role.AGENT, *new_roles]
            access = set(new_roles) != set(before)
            if access:
                accounts.check_roles(new_roles)
                if Role.ADMIN in before and Role.ADMIN not in new_roles:
                    await self._keep_an_admin(db, u)
                notes.append(f"角色 {self._roles_text(before)} → {self._roles_text(new_roles)}")
                u.roles = ",".join(r.value for r in new_roles)
            unit = u.department or ""
            if department is not None or access:
                unit = self._unit_of(new_roles, unit if department is None else department)
            if unit != (u.department or ""):
                access = True
                was, now = self.units.get(u.department, u.department) or "无", self.units.get(unit, unit) or "无"
                notes.append(f"单位 {was} → {now}")
                u.department = unit
            if display_name is not None:
                name = display_name.strip()
                if not 1 <= len(name) <= 64:
                    raise accounts.AccountError("姓名：1-64 个字符", field="display_name")
                if name != u.display_name:
                    notes.append(f"姓名 {u.display_name} → {name}")
                    u.display_name = name
            if skills is not None:
                joined = ",".join(accounts.parse_skills(skills))
                if joined != (u.skills or ""):
                    notes.append(f"技能 {u.skills or '无'} → {joined or '无'}")
                    u.skills = joined
            if not notes:
                return Changed(self.view(u))
            # Different roles or unit change what each page may show: the user logs in again.
            ended = await self._end_sessions(db, u) if access else frozenset()
            self._audit(db, actor, username, "edit", "；".join(notes))
        return Changed(await self.get(username), ended)

    async def reset_password(self, actor: str, username: str) -> Changed:
        async with self.sessions() as db, db.begin():
            u = await self._user(db, username)
            password = accounts.one_time_password()
            u.password_hash = await accounts.hash_password(password)
            u.must_change_password = True
            ended = await self._end_sessions(db, u)
            self._audit(db, actor, username, "reset-password", "一次性密码，首次登录须修改")
        return Changed(await self.get(username), ended, password)

    async def set_active(self, actor: str, username: str, active: bool) -> Changed:
        async with self.sessions() as db, db.begin():
            u = await self._user(db, username)
            if u.active == active:
                return Changed(self.view(u))
            if not active:
                if u.username == actor:
                    raise UserRefused("不能停用自己的账号")
                if Role.ADMIN.value in u.roles.split(","):
                    await self._keep_an_admin(db, u)
            u.active = active
            ended = await self._end_sessions(db, u) if not active else frozenset()
            self._audit(db, actor, username, "enable" if active else "disable", "")
        return Changed(await self.get(username), ended)

    async def unlocked(self, actor: str, username: str) -> None:
        async with self.sessions() as db, db.begin():
            await self._user(db, username)
            self._audit(db, actor, username, "unlock", "清除登录失败计数")

    # -- rules ---------------------------------------------------------------------------
    def _unit_of(self, roles: Iterable[Role], department: str) -> str:
        department = (department or "").strip()
        if UNIT_ROLES & set(roles):
            if not department:
                raise accounts.AccountError("承办单位和网格员账号须选择所属单位", field="department")
            if department not in self.units:
                raise accounts.AccountError(f"没有编码为 {department} 的单位或网格站", field="department")
            return department
        return ""  # only units' accounts belong to a unit

    async def _keep_an_admin(self, db: AsyncSession, u: User) -> None:
        others = await db.scalar(
            select(func.count())
            .select_from(User)
            .where(User.id != u.id, User.active.is_(True), User.roles.like(f"%{Role.ADMIN.value}%"))
        )
        if not others:
            raise UserRefused("这是最后一个可用的管理员账号，不能停用或取消其管理员角色")

    @staticmethod
    async def _end_sessions(db: AsyncSession, u: User) -> frozenset[str]:
        keys = frozenset((await db.scalars(select(WebSession.token_hash).where(WebSession.user_id == u.id))).all())
        await db.execute(delete(WebSession).where(WebSession.user_id == u.id))
        return keys

    @staticmethod
    async def _user(db: AsyncSession, username: str) -> User:
        u = await db.scalar(select(User).where(User.username == username))
        if u is None:
            raise UserNotFound(f"没有用户 {username}", username=username)
        return u

    @staticmethod
    def _current(u: User) -> list[Role]:
        return [Role(r) for r in u.roles.split(",") if r]

    @staticmethod
    def _roles_text(roles: Iterable[Role]) -> str:
        return "、".join(ROLE_TEXT.get(r, r.value) for r in roles) or "无"

    def _unit_note(self, department: str) -> str:
        return f"，单位 {self.units.get(department, department)}" if department else ""

    @staticmethod
    def _audit(db: AsyncSession, actor: str, username: str, action: str, detail: str) -> None:
        db.add(UserAudit(at=utcnow(), actor=actor, username=username, action=action, detail=detail[:500]))
