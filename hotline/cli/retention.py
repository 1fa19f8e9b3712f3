"""`hotline retention run [--dry-run]`: the retention purge now, from the shell."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
from typing import Any

from hotline.cli.common import settings_of


def register(sub: Any) -> None:
    retention = sub.add_parser("retention", help="personal data kept only as long as its period")
    verbs = retention.add_subparsers(dest="sub", required=True)
    run = verbs.add_parser("run", help="delete or anonymise what outlived its period (audited)")
    run.add_argument("--dry-run", action="store_true", help="count what would go; change nothing, audit nothing")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from hotline.db.engine import make_engine, sessionmaker
    from hotline.db.migrate import upgrade
    from hotline.retention.rules import Purged
    from hotline.retention.service import Retention

    settings = settings_of(args)
    upgrade(settings)

    async def run() -> list[Purged]:
        engine = make_engine(settings)
        try:
            retention = Retention(settings, sessionmaker(engine), lambda: dt.datetime.now(dt.UTC))
            return await retention.run(f"cli:{getpass.getuser()}", dry_run=args.dry_run)
        finally:
            await engine.dispose()

    items = asyncio.run(run())
    for i in items:
        print(f"{i.what}: {i.count} {'would go' if args.dry_run else 'done'} ({i.why})")
    print("dry run: nothing changed" if args.dry_run else "done; the run is in the audit (/admin/retention)")
    return 0
