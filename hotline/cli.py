"""The `hotline` command: the front door to every part of the system."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from hotline.config import ConfigError, Settings, load, masked, to_toml
from hotline.errors import HotlineError

SETTINGS_SNAPSHOT = "settings.json"


def _settings(args: argparse.Namespace) -> Settings:
    snapshot = os.environ.get("HOTLINE_SETTINGS_FILE")
    if snapshot:
        # The PBX supervisor runs with exactly the settings its parent had.
        return Settings.model_validate_json(Path(snapshot).read_text())
    return load(args.config)


def cmd_config_show(args: argparse.Namespace) -> int:
    data = masked(_settings(args))
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else to_toml(data), end="" if not args.json else "\n")
    return 0


def cmd_pbx_install(args: argparse.Namespace) -> int:
    from hotline.pbx.install import install

    install(_settings(args), say=lambda line: print(line, flush=True))
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


def cmd_pbx_render(args: argparse.Namespace) -> int:
    from hotline.pbx.render import render_config

    written = render_config(_settings(args), Path(args.dir))
    for path in written:
        print(path)
    print(f"{len(written)} files; they hold secrets (mode 600). Install them as /etc/asterisk.",
          file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from hotline.server import serve

    settings = _settings(args)
    if not args.with_pbx:
        serve(settings)
        return 0
    from hotline.pbx.install import install, is_installed
    from hotline.pbx.process import Pbx

    if not is_installed(settings):
        install(settings, say=lambda line: print(line, flush=True))
    pbx = Pbx(settings)
    started_here = pbx.supervisor_pid() is None
    pbx.start()
    print("hotline: Asterisk is up", flush=True)
    try:
        serve(settings)
    finally:
        if started_here:
            pbx.stop()
            print("hotline: Asterisk stopped", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="12345 citizen service hotline back end")
    p.add_argument("-c", "--config", help="TOML configuration file (default: $HOTLINE_CONFIG or ./hotline.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the controller and web server")
    serve.add_argument("--with-pbx", action="store_true",
                       help="install (if needed) and start the bundled Asterisk first")
    serve.set_defaults(func=cmd_serve)

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
    render = pbx.add_parser("render-config", help="write the configuration for your own Asterisk")
    render.add_argument("dir")
    render.set_defaults(func=cmd_pbx_render)
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
