"""`hotline user …`: the administrator's users page from a shell, through the
same rules (people/admin.py) and into the same audit."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from hotline.cli.common import settings_of


def register(sub: Any) -> None:
    user = sub.add_parser("user", help="people who log in").add_subparsers(dest="sub", required=True)
    roles = "agent, lead, admin, department, lawyer, grid or leader (repeatable)"
    add = user.add_parser("add", help="create a user; prints a one-time password")
    add.add_argument("username")
    add.add_argument("--name", help="display name, e.g. 张三")
    add.add_argument("--role", action="append", required=True, help=roles)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--department", help="department and grid accounts: the department or grid station code")
    add.add_argument("--skills", help="comma-separated skills work items may ask for, e.g. 涉企,方言")
    add.set_defaults(func=cmd_add)
    ls = user.add_parser("list", help="every user: roles, unit, last login, disabled")
    ls.set_defaults(func=cmd_list)
    edit = user.add_parser("edit", help="change a user's name, roles, unit or skills")
    edit.add_argument("username")
    edit.add_argument("--name")
    edit.add_argument("--role", action="append", help=roles + "; replaces the user's roles")
    edit.add_argument("--department")
    edit.add_argument("--skills")
    edit.set_defaults(func=cmd_edit)
    for verb, helptext in (
        ("reset-password", "a new one-time password (printed); the user's logins end"),
        ("disable", "the user can no longer log in; their logins end"),
        ("enable", "the user may log in again"),
        ("unlock", "forget failed logins (done by the running controller)"),
    ):
        p = user.add_parser(verb, help=helptext)
        p.add_argument("username")
        p.set_defaults(func=cmd_verb, verb=verb)
    skills = user.add_parser("skills", help="set an agent's skills (comma-separated; '' clears them)")
    skills.add_argument("username")
    skills.add_argument("skills")
    skills.set_defaults(func=cmd_skills)
    audit = user.add_parser("audit", help="the last changes to accounts")
    audit.add_argument("username", nargs="?")
    audit.set_defaults(func=cmd_audit)


def _run(args: argparse.Namespace, work: Callable[[Any], Awaitable[int]]) -> int:
    from hotline.db.engine import make_engine, sessionmaker
    from hotline.db.migrate import upgrade
    from hotline.errors import HotlineError
    from hotline.people.admin import UserAdmin
    from hotline.tickets.categories import CategoryTree

    settings = settings_of(args)
    upgrade(settings)
    units = {code: d.name for code, d in CategoryTree(settings.tickets).departments.items()}

    async def main() -> int:
        engine = make_engine(settings)
        try:
            return await work(UserAdmin(sessionmaker(engine), units))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except HotlineError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _roles(names: list[str] | None) -> Any:
    from hotline.people.admin import parse_roles

    return None if names is None else parse_roles(names)


def cmd_add(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def work(admin: Any) -> int:
        made = await admin.create(
            _actor(),
            args.username,
            args.name or args.username,
            _roles(args.role),
            args.department or "",
            args.skills or "",
            password,
            one_time=password is None,
        )
        u = made.user
        print(
            f"已新建用户 {u.username}（{u.display_name}，{u.roles_text}"
            + (f"，{u.department_text}" if u.department else "")
            + "）"
        )
        if made.password:
            print(f"password: {made.password}")
            print("（一次性密码：首次登录须修改）")
        return 0

    return _run(args, work)


def cmd_list(args: argparse.Namespace) -> int:
    async def work(admin: Any) -> int:
        for u in await admin.everyone():
            last = u.last_login_at.astimezone().strftime("%Y-%m-%d %H:%M") if u.last_login_at else "从未登录"
            state = "可用" if u.active else "已停用"
            flags = "，待改密码" if u.must_change_password else ""
            unit = f"  {u.department_text}" if u.department else ""
            print(f"{u.username:<16} {u.display_name:<8} {u.roles_text}{unit}  最近登录 {last}  {state}{flags}")
        return 0

    return _run(args, work)


def cmd_edit(args: argparse.Namespace) -> int:
    async def work(admin: Any) -> int:
        made = await admin.edit(
            _actor(),
            args.username,
            display_name=args.name,
            roles=_roles(args.role),
            department=args.department,
            skills=args.skills,
        )
        u = made.user
        print(f"{u.username}：{u.display_name}，{u.roles_text}" + (f"，{u.department_text}" if u.department else ""))
        if made.ended:
            print(f"已结束其 {len(made.ended)} 个登录")
        return 0

    return _run(args, work)


def cmd_verb(args: argparse.Namespace) -> int:
    async def work(admin: Any) -> int:
        if args.verb == "reset-password":
            made = await admin.reset_password(_actor(), args.username)
            print(f"password: {made.password}")
            print("（一次性密码：首次登录须修改；其已有的登录已结束）")
        elif args.verb in ("disable", "enable"):
            made = await admin.set_active(_actor(), args.username, args.verb == "enable")
            print(f"{args.username}：{'已启用' if made.user.active else '已停用'}")
        else:
            await admin.get(args.username)
            print(
                "登录失败计数保存在运行中的服务里：请在 /admin/users 页面点“解除锁定”；"
                "不解除的话，锁定在最后一次失败 5 分钟后自动解除。"
            )
            return 1
        return 0

    return _run(args, work)


def cmd_skills(args: argparse.Namespace) -> int:
    async def work(admin: Any) -> int:
        made = await admin.edit(_actor(), args.username, skills=args.skills)
        print(f"{made.user.username}：技能 {made.user.skills or '（无）'}")
        return 0

    return _run(args, work)


def cmd_audit(args: argparse.Namespace) -> int:
    async def work(admin: Any) -> int:
        for a in await admin.audit(username=args.username):
            at = a.at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{at}  {a.actor:<16} {a.username:<16} {a.action_text}  {a.detail}")
        return 0

    return _run(args, work)
