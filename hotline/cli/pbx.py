"""`hotline pbx …` and `hotline serve`/`hotline demo`: the bundled Asterisk and
the controller."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hotline.cli.common import settings_of
from hotline.privileges import drop_privileges


def cmd_pbx_install(args: argparse.Namespace) -> int:
    from hotline.pbx.install import install

    # Root builds the root filesystem; the state it leaves is handed to the
    # service user when a service command first runs.
    install(settings_of(args, as_service=False), say=lambda line: print(line, flush=True))
    return 0


def cmd_pbx_start(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    pbx = Pbx(settings_of(args))
    already = pbx.supervisor_pid()
    pid = pbx.start()
    s = pbx.settings
    word = "already running" if already else "started"
    print(
        f"Asterisk {word} (supervisor pid {pid}); AMI {s.ami.host}:{s.ami.port}, SIP {s.pbx.sip_host}:{s.pbx.sip_port}"
    )
    return 0


def cmd_pbx_run(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    return Pbx(settings_of(args)).run_foreground()


def cmd_pbx_stop(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    stopped = Pbx(settings_of(args)).stop()
    print("Asterisk stopped" if stopped else "Asterisk was not running")
    return 0


def cmd_pbx_status(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    info = _status(Pbx(settings_of(args)))
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0 if info["running"] else 3


def cmd_pbx_cli(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    print(Pbx(settings_of(args)).cli(" ".join(args.command)), end="")
    return 0


def cmd_pbx_reload(args: argparse.Namespace) -> int:
    from hotline.pbx.process import Pbx

    Pbx(settings_of(args)).reload()
    print("configuration applied: SIP endpoints, trunks, ACLs and dialplan reloaded (calls kept)")
    return 0


def cmd_pbx_render(args: argparse.Namespace) -> int:
    from hotline.pbx.render import render_config

    written = render_config(settings_of(args, as_service=False), Path(args.dir))
    for path in written:
        print(path)
    print(f"{len(written)} files; they hold secrets (mode 600). Install them as /etc/asterisk.", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from hotline.server import serve

    settings = settings_of(args, as_service=False)
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
    running = pbx.supervisor_pid()
    # What a `serve --with-pbx` started is its own, even when an earlier one
    # crashed and left it running; a PBX the operator started stays theirs.
    owns = running is None or pbx.owner() != "cli"
    if running is None:
        pbx.start(owner="serve")
        print("hotline: Asterisk is up", flush=True)
    elif owns:
        print(
            f"hotline: 沿用仍在运行的 Asterisk（pid {running}，上次 serve --with-pbx 未正常退出时留下），停止时一并停止",
            flush=True,
        )
    else:
        print(f"hotline: 沿用由 `hotline pbx start` 启动的 Asterisk（pid {running}），停止时保留它", flush=True)
    try:
        serve(settings, demo)
    finally:
        if owns:
            pbx.stop()
            print("hotline: Asterisk stopped", flush=True)
    return 0


def _status(pbx: Any) -> dict[str, object]:
    import contextlib
    import subprocess

    from hotline.errors import HotlineError
    from hotline.pbx.install import asterisk_version

    pid = pbx.supervisor_pid()
    info: dict[str, object] = {
        "running": pid is not None,
        "supervisor_pid": pid,
        "rootfs": str(pbx.settings.pbx.rootfs),
        "instance": str(pbx.paths.base),
        "installed": asterisk_version(pbx.settings.pbx.rootfs) or None,
        "ami": f"{pbx.settings.ami.host}:{pbx.settings.ami.port}",
    }
    if pid is not None:
        with contextlib.suppress(HotlineError, subprocess.TimeoutExpired):
            info["uptime"] = pbx.cli("core show uptime", timeout=5).strip()
    return info
