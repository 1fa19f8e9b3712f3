"""The other commands: configuration, IVR flows, users, recordings, the
database, seat phones and the terminal seat map."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hotline.cli.common import settings_of
from hotline.configfile import masked, to_toml


def cmd_config_show(args: argparse.Namespace) -> int:
    data = masked(settings_of(args))
    print(
        json.dumps(data, ensure_ascii=False, indent=2) if args.json else to_toml(data),
        end="" if not args.json else "\n",
    )
    return 0


def cmd_ivr_validate(args: argparse.Namespace) -> int:
    from hotline.ivr.flow import FlowInvalid
    from hotline.ivr.flow_yaml import load_yaml
    from hotline.ivr.service import queues_of
    from hotline.ivr.validate import validate

    settings = settings_of(args)
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: 无法读取：{exc}", file=sys.stderr)
        return 2
    try:
        flow = load_yaml(text)
        problems = validate(
            flow,
            schedules=settings.ivr.schedules.keys(),
            prompt_files=settings.state_dir / "prompt-uploads",
            queues=queues_of(settings),
        )
    except FlowInvalid as exc:
        problems = exc.problems
    for p in problems:
        print(f"{args.file}: {p}", file=sys.stderr)
    if problems:
        print(f"{args.file}: {len(problems)} 个问题", file=sys.stderr)
        return 1
    from hotline.ivr.flow import Prompt
    from hotline.ivr.prompts import PromptStore
    from hotline.ivr.validate import slow_path_warnings

    store = PromptStore(settings)

    def seconds_of(nid: str, field: str) -> float:
        prompt = getattr(flow.nodes[nid], field, None)
        return store.seconds(prompt) if isinstance(prompt, Prompt) else 0.0

    for w in slow_path_warnings(flow, seconds_of, settings.ivr.max_seconds_to_seat):
        print(f"{args.file}: 建议：{w}", file=sys.stderr)
    print(f"{args.file}: 校验通过（{len(flow.nodes)} 个节点）")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.accounts import create_user
    from hotline.db.engine import make_engine, sessionmaker
    from hotline.db.migrate import upgrade
    from hotline.roles import Role

    settings = settings_of(args)
    upgrade(settings)
    try:
        roles = [Role(r) for r in args.role]
    except ValueError as exc:
        print(f"hotline: {exc}; roles: agent, lead, admin, department, lawyer", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def add() -> tuple[object, str]:
        engine = make_engine(settings)
        try:
            async with sessionmaker(engine)() as db, db.begin():
                return await create_user(
                    db, args.username, args.name or args.username, roles, password, department=args.department or ""
                )
        finally:
            await engine.dispose()

    from hotline.accounts import AccountError, parse_skills

    try:
        skills = parse_skills(args.skills or "")
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2

    async def add_with_skills() -> tuple[object, str]:
        made = await add()
        if skills:
            await _skills(settings, args.username, skills)
        return made

    who, pw = asyncio.run(add_with_skills())
    print(
        f"user {args.username} ({', '.join(r.value for r in roles)}) created"
        + (f", skills: {', '.join(skills)}" if skills else "")
    )
    if not args.password_stdin:
        print(f"password: {pw}")
    return 0


async def _skills(settings: object, username: str, skills: list[str]) -> None:
    from hotline.accounts import set_skills
    from hotline.db.engine import make_engine, sessionmaker

    engine = make_engine(settings)  # type: ignore[arg-type]
    try:
        async with sessionmaker(engine)() as db, db.begin():
            await set_skills(db, username, skills)
    finally:
        await engine.dispose()


def cmd_user_skills(args: argparse.Namespace) -> int:
    """Set what work items an agent may take (replaces their skills; '' clears)."""
    import asyncio

    from hotline.accounts import AccountError, parse_skills
    from hotline.db.migrate import upgrade

    settings = settings_of(args)
    upgrade(settings)
    try:
        skills = parse_skills(args.skills)
        asyncio.run(_skills(settings, args.username, skills))
    except AccountError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.username}: skills {', '.join(skills) or '(none)'}")
    return 0


def cmd_recordings_purge(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.db.engine import make_engine, sessionmaker
    from hotline.db.migrate import upgrade
    from hotline.recordings.store import RecordingStore

    settings = settings_of(args)
    upgrade(settings)

    async def purge() -> list[str]:
        engine = make_engine(settings)
        try:
            store = RecordingStore(settings, sessionmaker(engine))
            return await store.purge(days=args.days, dry_run=args.dry_run)
        finally:
            await engine.dispose()

    gone = asyncio.run(purge())
    for name in gone:
        print(("would delete " if args.dry_run else "deleted ") + name)
    print(f"{len(gone)} recording(s) {'to delete' if args.dry_run else 'deleted'}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from hotline.db.migrate import upgrade

    settings = settings_of(args)
    upgrade(settings)
    print(f"database at the newest schema: {settings.database_url.split('://')[0]}")
    return 0


def cmd_seat_phone(args: argparse.Namespace) -> int:
    from hotline.seats.phone import linphone_xml, phone_details

    details = phone_details(settings_of(args), args.seat)
    if args.linphone:
        print(linphone_xml(details), end="")
    elif args.json:
        print(json.dumps(details.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(details.text())
    return 0


def cmd_seatmap(args: argparse.Namespace) -> int:
    from hotline.seatmap.terminal import main as seatmap

    settings = settings_of(args)
    url = args.url or f"http://{settings.web.host}:{settings.web.port}"
    return seatmap(url, args.user)


def cmd_sim_110(args: argparse.Namespace) -> int:
    """110's side of the link on this machine, with this installation's secret."""
    import asyncio
    from urllib.parse import urlsplit

    from hotline.credentials import peer_secret
    from hotline.police.simulator import run

    settings = settings_of(args)
    where = urlsplit(settings.police.url or "http://127.0.0.1:18093")
    host, port = where.hostname or "127.0.0.1", where.port or 18093
    try:
        asyncio.run(run(peer_secret(settings, "110"), settings.hotline_url, host, port, args.incidents, args.every))
    except KeyboardInterrupt:
        pass
    return 0
