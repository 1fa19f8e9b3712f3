"""Who a request acts for: the person behind a web session or a command."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.db.models import User
from hotline.roles import Role


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    department: str = ""  # department accounts: the code of their department
    must_change_password: bool = False


def identity_of(user: User) -> Identity:
    return Identity(
        user.id,
        user.username,
        user.display_name,
        frozenset(Role(r) for r in user.roles.split(",") if r),
        user.department or "",
        bool(user.must_change_password),
    )
