"""`hotline triage train [--history FILE]` and `hotline triage status`: the
triage model trained now, from the centre's closed tickets or from a
history file (a previous system's export, or the seeded history)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
from pathlib import Path
from typing import Any

from hotline.cli.common import settings_of


def register(sub: Any) -> None:
    triage = sub.add_parser("triage", help="category and unit suggestions learned from closed tickets")
    verbs = triage.add_subparsers(dest="sub", required=True)
    train = verbs.add_parser("train", help="train a new model version (served if it measures up)")
    train.add_argument(
        "--history",
        metavar="FILE",
        help="learn from a history file (JSON lines; 'seeded' for the shipped one) instead of closed tickets",
    )
    train.set_defaults(func=cmd_train)
    status = verbs.add_parser("status", help="the model versions and their held-out accuracy")
    status.set_defaults(func=cmd_status)


def _triage(settings: Any, engine: Any) -> Any:
    from hotline.db.engine import sessionmaker
    from hotline.tickets.categories import CategoryTree
    from hotline.triage.service import Triage

    return Triage(settings, sessionmaker(engine), lambda: dt.datetime.now(dt.UTC), CategoryTree(settings.tickets))


def cmd_train(args: argparse.Namespace) -> int:
    from hotline.db.engine import make_engine
    from hotline.db.migrate import upgrade
    from hotline.triage import history

    settings = settings_of(args)
    upgrade(settings)
    rows = None
    if args.history:
        path = history.SEEDED if args.history == "seeded" else Path(args.history)
        try:
            rows = [r for r, _ in history.read(path)]
        except (OSError, history.HistoryError) as exc:
            print(f"triage: {exc}")
            return 2

    async def run() -> dict[str, Any]:
        engine = make_engine(settings)
        try:
            triage = _triage(settings, engine)
            source = f"file:{Path(args.history).name}" if args.history else "tickets"
            return await triage.retrain(f"cli:{getpass.getuser()}", rows, source=source)  # type: ignore[no-any-return]
        finally:
            await engine.dispose()

    got = asyncio.run(run())
    if not got.get("trained"):
        print(f"triage: not trained: {got.get('reason')}")
        return 1
    held = got.get("held_out", {})
    print(
        f"triage: {got['version']} trained on {got['trained_on']} tickets, {got['categories']} categories; "
        f"newest fifth held out: top-1 {held.get('top1', 0):.3f}, top-3 {held.get('top3', 0):.3f}; "
        + ("served" if got["promoted"] else "NOT served (below triage.min_top3)")
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hotline.db.engine import make_engine

    settings = settings_of(args)
    triage = _triage(settings, make_engine(settings))
    versions = triage.versions()
    if not versions:
        print("triage: no model yet (hotline triage train)")
    for v in versions:
        held = v.get("held_out", {})
        print(
            f"{'*' if v['current'] else ' '} {v['version']}  {v.get('trained_on', 0)} tickets  "
            f"top-1 {held.get('top1', 0):.3f}  top-3 {held.get('top3', 0):.3f}  from {v.get('source', '')}"
        )
    return 0
