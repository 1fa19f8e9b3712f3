"""What an administrator sees of the people who log in: accounts and the
audit of every change, as read models; the roles' and actions' Chinese names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.jsonout import ReadModel
from hotline.roles import Role

ROLE_TEXT = {
    Role.AGENT: "坐席员",
    Role.LEAD: "值班长",
    Role.ADMIN: "管理员",
    Role.DEPARTMENT: "承办单位",
    Role.LAWYER: "律师",
    Role.GRID: "网格员",
    Role.LEADER: "领导（只读简报）",
}
ACTION_TEXT = {
    "create": "新建",
    "edit": "修改",
    "reset-password": "重置密码",
    "disable": "停用",
    "enable": "启用",
    "unlock": "解除锁定",
}
# Roles whose accounts belong to a unit (a department, or a grid station).
UNIT_ROLES = frozenset({Role.DEPARTMENT, Role.GRID})


@dataclass(frozen=True, slots=True)
class UserView(ReadModel):
    username: str
    display_name: str
    roles: tuple[str, ...]
    roles_text: str
    department: str
    department_text: str
    skills: str
    active: bool
    must_change_password: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    seat: str  # the seat the user is logged in at now, '' when none
    locked: bool  # refused at login after failed passwords, until unlocked or the window passes


@dataclass(frozen=True, slots=True)
class AuditLine(ReadModel):
    at: dt.datetime
    actor: str
    username: str
    action: str
    action_text: str
    detail: str
