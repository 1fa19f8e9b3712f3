"""The other commands: configuration, IVR flows, users, recordings, the
database, seat phones and the terminal seat map."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from hotline.cli.common import settings_of
from hotline.config import Settings
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

    settings = settings_of(args)
    shared = asyncio.run(_edge_password(settings, args.seat)) if settings.seats_at_edge else None
    details = phone_details(settings, args.seat, shared)
    if args.linphone:
        print(linphone_xml(details), end="")
    elif args.json:
        print(json.dumps(details.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(details.text())
    return 0


async def _edge_password(settings: Settings, seat: str) -> str | None:
    from hotline.db.engine import make_engine, sessionmaker
    from hotline.seats import edge_passwords

    engine = make_engine(settings)
    try:
        return await edge_passwords.password(sessionmaker(engine), seat)
    finally:
        await engine.dispose()


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
