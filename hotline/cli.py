"""The `hotline` command: the front door to every part of the system."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from hotline.config import ConfigError, Settings, from_snapshot, load, masked, to_toml
from hotline.errors import HotlineError
from hotline.privileges import drop_privileges

SETTINGS_SNAPSHOT = "settings.json"


def _settings(args: argparse.Namespace, *, as_service: bool = True) -> Settings:
    """The configuration; unless told otherwise, root becomes the service user here."""
    snapshot = os.environ.get("HOTLINE_SETTINGS_FILE")
    if snapshot:
        # The PBX supervisor runs with exactly the settings its parent had.
        settings = from_snapshot(Path(snapshot).read_text())
    else:
        settings = load(args.config)
    if as_service:
        drop_privileges(settings)
    return settings


def cmd_config_show(args: argparse.Namespace) -> int:
    data = masked(_settings(args))
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else to_toml(data), end="" if not args.json else "\n")
    return 0


def cmd_pbx_install(args: argparse.Namespace) -> int:
    from hotline.pbx.install import install

    # Root builds the root filesystem; the state it leaves is handed to the
    # service user when a service command first runs.
    install(_settings(args, as_service=False), say=lambda line: print(line, flush=True))
    return 0


def cmd_pbx_start(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    pbx = Pbx(_settings(args))
    already = pbx.supervisor_pid()
    pid = pbx.start()
    s = pbx.settings
    word = "already running" if already else "started"
    print(f"Asterisk {word} (supervisor pid {pid}); AMI {s.ami.host}:{s.ami.port}, "
          f"SIP {s.pbx.sip_host}:{s.pbx.sip_port}")
    return 0


def cmd_pbx_run(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    return Pbx(_settings(args)).run_foreground()


def cmd_pbx_stop(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    stopped = Pbx(_settings(args)).stop()
    print("Asterisk stopped" if stopped else "Asterisk was not running")
    return 0


def cmd_pbx_status(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    info = Pbx(_settings(args)).status()
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0 if info["running"] else 3


def cmd_pbx_cli(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    print(Pbx(_settings(args)).cli(" ".join(args.command)), end="")
    return 0


def cmd_pbx_reload(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    Pbx(_settings(args)).reload()
    print("configuration applied: SIP endpoints, trunks, ACLs and dialplan reloaded (calls kept)")
    return 0


def cmd_pbx_render(args: argparse.Namespace) -> int:
    from hotline.pbx.render import render_config

    written = render_config(_settings(args, as_service=False), Path(args.dir))
    for path in written:
        print(path)
    print(f"{len(written)} files; they hold secrets (mode 600). Install them as /etc/asterisk.",
          file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from hotline.server import serve

    settings = _settings(args, as_service=False)
    demo = None
    if args.demo:
        from hotline.demo import DemoOptions, demo_settings

        if args.demo_rate <= 0 or args.demo_rate > 600 or not 1 <= args.demo_agents <= 200:
            print("hotline: --demo-rate is calls a minute (0-600], --demo-agents 1-200", file=sys.stderr)
            return 2
        demo = DemoOptions(rate_per_minute=args.demo_rate, agents=args.demo_agents)
        settings = demo_settings(settings, demo.agents)
    if args.with_pbx:
        from hotline.pbx.install import install, is_installed

        if not is_installed(settings):
            install(settings, say=lambda line: print(line, flush=True))
    drop_privileges(settings)
    if not args.with_pbx:
        serve(settings, demo)
        return 0
    from hotline.pbx.process import Pbx

    pbx = Pbx(settings)
    started_here = pbx.supervisor_pid() is None
    pbx.start()
    print("hotline: Asterisk is up", flush=True)
    try:
        serve(settings, demo)
    finally:
        if started_here:
            pbx.stop()
            print("hotline: Asterisk stopped", flush=True)
    return 0


def cmd_ivr_validate(args: argparse.Namespace) -> int:
    from hotline.ivr.flow import FlowInvalid
    from hotline.ivr.flow_yaml import load_yaml
    from hotline.ivr.validate import validate

    settings = _settings(args)
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.file}: 无法读取：{exc}", file=sys.stderr)
        return 2
    try:
        flow = load_yaml(text)
        problems = validate(flow, schedules=settings.ivr.schedules.keys(),
                            prompt_files=settings.state_dir / "prompt-uploads")
    except FlowInvalid as exc:
        problems = exc.problems
    for p in problems:
        print(f"{args.file}: {p}", file=sys.stderr)
    if problems:
        print(f"{args.file}: {len(problems)} 个问题", file=sys.stderr)
        return 1
    from hotline.ivr.flow import Prompt
    from hotline.ivr.validate import slow_path_warnings
    from hotline.ivr.prompts import PromptStore

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

    settings = _settings(args)
    upgrade(settings)
    try:
        roles = [Role(r) for r in args.role]
    except ValueError as exc:
        print(f"hotline: {exc}; roles: agent, lead, admin, department", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def add() -> tuple[object, str]:
        engine = make_engine(settings)
        try:
            async with sessionmaker(engine)() as db, db.begin():
                return await create_user(db, args.username, args.name or args.username, roles, password,
                                         department=args.department or "")
        finally:
            await engine.dispose()

    who, pw = asyncio.run(add())
    print(f"user {args.username} ({', '.join(r.value for r in roles)}) created")
    if not args.password_stdin:
        print(f"password: {pw}")
    return 0


def cmd_recordings_purge(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.db.engine import make_engine, sessionmaker
    from hotline.db.migrate import upgrade
    from hotline.recordings.store import RecordingStore

    settings = _settings(args)
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

    settings = _settings(args)
    upgrade(settings)
    print(f"database at the newest schema: {settings.database_url.split('://')[0]}")
    return 0


def cmd_seat_phone(args: argparse.Namespace) -> int:
    from hotline.seats.phone import linphone_xml, phone_details

    details = phone_details(_settings(args), args.seat)
    if args.linphone:
        print(linphone_xml(details), end="")
    elif args.json:
        print(json.dumps(details.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(details.text())
    return 0


def cmd_seatmap(args: argparse.Namespace) -> int:
    from hotline.seatmap.terminal import main as seatmap

    settings = _settings(args)
    url = args.url or f"http://{settings.web.host}:{settings.web.port}"
    return seatmap(url, args.user)


def _demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo-rate", type=float, default=8.0, help="demo: callers a minute (default 8)")
    p.add_argument("--demo-agents", type=int, default=6, help="demo: agents logged in (default 6)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="12345 citizen service hotline back end")
    p.add_argument("-c", "--config", help="TOML configuration file (default: $HOTLINE_CONFIG or ./hotline.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the controller and web server")
    serve.add_argument("--with-pbx", action="store_true",
                       help="install (if needed) and start the bundled Asterisk first")
    serve.add_argument("--demo", action="store_true",
                       help="simulated agents and callers through the real PBX; data kept in <state_dir>/demo")
    _demo_options(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="run the hotline with simulated agents and callers (own state folder)")
    _demo_options(demo)
    demo.set_defaults(func=cmd_serve, demo=True, with_pbx=True)

    config = sub.add_parser("config", help="configuration").add_subparsers(dest="sub", required=True)
    show = config.add_parser("show", help="print the effective configuration, secrets masked")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_config_show)

    pbx = sub.add_parser("pbx", help="the bundled Asterisk").add_subparsers(dest="sub", required=True)
    pbx.add_parser("install", help="provision Asterisk 22 (cached)").set_defaults(func=cmd_pbx_install)
    pbx.add_parser("start", help="start it and wait for FullyBooted").set_defaults(func=cmd_pbx_start)
    pbx.add_parser("run", help="run it in the foreground (supervisor)").set_defaults(func=cmd_pbx_run)
    pbx.add_parser("stop", help="stop it").set_defaults(func=cmd_pbx_stop)
    pbx.add_parser("status", help="is it running").set_defaults(func=cmd_pbx_status)
    cli = pbx.add_parser("cli", help="run an Asterisk CLI command")
    cli.add_argument("command", nargs="+")
    cli.set_defaults(func=cmd_pbx_cli)
    pbx.add_parser("reload", help="apply a changed configuration (trunks, seats, dialplan) without a restart"
                   ).set_defaults(func=cmd_pbx_reload)
    render = pbx.add_parser("render-config", help="write the configuration for your own Asterisk")
    render.add_argument("dir")
    render.set_defaults(func=cmd_pbx_render)

    ivr = sub.add_parser("ivr", help="IVR flows").add_subparsers(dest="sub", required=True)
    validate = ivr.add_parser("validate", help="check a flow file; exits 1 with the problems")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_ivr_validate)

    user = sub.add_parser("user", help="people who log in").add_subparsers(dest="sub", required=True)
    add = user.add_parser("add", help="create a user; prints a generated password")
    add.add_argument("username")
    add.add_argument("--name", help="display name, e.g. 张三")
    add.add_argument("--role", action="append", required=True, help="agent, lead, admin or department (repeatable)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--department", help="department accounts: the department code (tickets.departments)")
    add.set_defaults(func=cmd_user_add)

    rec = sub.add_parser("recordings", help="call recordings").add_subparsers(dest="sub", required=True)
    purge = rec.add_parser("purge", help="delete recordings older than recordings.retention_days")
    purge.add_argument("--days", type=int, help="override the retention period for this run")
    purge.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    purge.set_defaults(func=cmd_recordings_purge)

    seat = sub.add_parser("seat", help="seat phones").add_subparsers(dest="sub", required=True)
    phone = seat.add_parser("phone", help="what a softphone needs to register as this seat (holds its password)")
    phone.add_argument("seat", help="e.g. seat01")
    how = phone.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true", help="as JSON")
    how.add_argument("--linphone", action="store_true", help="a Linphone remote-provisioning XML file")
    phone.set_defaults(func=cmd_seat_phone)

    seatmap = sub.add_parser("seatmap", help="the live seat map in this terminal (shift lead)")
    seatmap.add_argument("--user", required=True, help="a shift lead's username")
    seatmap.add_argument("--url", help="the hotline's web address (default: from the configuration)")
    seatmap.set_defaults(func=cmd_seatmap)

    db = sub.add_parser("db", help="the database").add_subparsers(dest="sub", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    except HotlineError as exc:
        print(f"hotline: [{exc.error_id}] {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
