"""The `hotline` command: the front door to every part of the system."""

from __future__ import annotations

import argparse
import logging
import sys

from hotline.cli import cluster, edge, retention, triage, users
from hotline.cli.commands import (
    cmd_config_show,
    cmd_db_upgrade,
    cmd_ivr_validate,
    cmd_recordings_purge,
    cmd_seat_phone,
    cmd_seatmap,
    cmd_sim_110,
)
from hotline.cli.pbx import (
    cmd_pbx_cli,
    cmd_pbx_install,
    cmd_pbx_reload,
    cmd_pbx_render,
    cmd_pbx_run,
    cmd_pbx_start,
    cmd_pbx_status,
    cmd_pbx_stop,
    cmd_serve,
)
from hotline.config import ConfigError
from hotline.errors import HotlineError


def _demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo-rate", type=float, default=8.0, help="demo: callers a minute (default 8)")
    p.add_argument("--demo-agents", type=int, default=6, help="demo: agents logged in (default 6)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="12345 citizen service hotline back end")
    p.add_argument("-c", "--config", help="TOML configuration file (default: $HOTLINE_CONFIG or ./hotline.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the controller and web server")
    serve.add_argument(
        "--with-pbx", action="store_true", help="install (if needed) and start the bundled Asterisk first"
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="simulated agents and callers through the real PBX; data kept in <state_dir>/demo",
    )
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
    pbx.add_parser(
        "reload", help="apply a changed configuration (trunks, seats, dialplan) without a restart"
    ).set_defaults(func=cmd_pbx_reload)
    render = pbx.add_parser("render-config", help="write the configuration for your own Asterisk")
    render.add_argument("dir")
    render.set_defaults(func=cmd_pbx_render)

    ivr = sub.add_parser("ivr", help="IVR flows").add_subparsers(dest="sub", required=True)
    validate = ivr.add_parser("validate", help="check a flow file; exits 1 with the problems")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_ivr_validate)

    users.register(sub)
    edge.register(sub)
    cluster.register(sub)
    retention.register(sub)
    triage.register(sub)

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

    sim = sub.add_parser("sim", help="simulated peers").add_subparsers(dest="sub", required=True)
    p110 = sim.add_parser("110", help="the police's 110 centre, on police.url (default 127.0.0.1:18093)")
    p110.add_argument("--incidents", type=int, default=0, help="push this many sample incidents to the hotline")
    p110.add_argument("--every", type=float, default=5.0, help="seconds between pushed incidents")
    p110.set_defaults(func=cmd_sim_110)

    db = sub.add_parser("db", help="the database").add_subparsers(dest="sub", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose and args.command in ("user", "seat", "recordings", "ivr", "config"):
        # Migrations say every step at INFO: a one-line command would print a page before its answer.
        logging.getLogger("alembic").setLevel(logging.WARNING)
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
