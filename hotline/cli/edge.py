"""`hotline edge …`: the SIP edge (Kamailio) in front of the Asterisk nodes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hotline.cli.common import settings_of


def register(sub: Any) -> None:
    edge = sub.add_parser("edge", help="the SIP edge (Kamailio) in front of the nodes").add_subparsers(
        dest="sub", required=True
    )
    edge.add_parser("start", help="render its configuration, start it, wait until it answers").set_defaults(
        func=cmd_start
    )
    edge.add_parser("stop", help="stop it").set_defaults(func=cmd_stop)
    edge.add_parser("run", help="render, check and run Kamailio in the foreground (for systemd)").set_defaults(
        func=cmd_run
    )
    edge.add_parser("status", help="running or not, and each node as the edge sees it (JSON)").set_defaults(
        func=cmd_status
    )
    render = edge.add_parser("render-config", help="write kamailio.cfg and dispatcher.list for your own Kamailio")
    render.add_argument("dir")
    render.set_defaults(func=cmd_render)


def cmd_start(args: argparse.Namespace) -> int:
    from hotline.edge.process import Edge

    edge = Edge(settings_of(args))
    pid = edge.start()
    e = edge.settings.edge
    print(f"edge running (pid {pid}); SIP udp:{e.host}:{e.sip_port}, {len(e.nodes)} node(s)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from hotline.edge.process import Edge

    edge = Edge(settings_of(args))
    argv = edge.prepared_argv()
    sys.stdout.flush()
    os.execve(argv[0], argv, edge.environment())  # Kamailio replaces this process: systemd supervises it directly


def cmd_stop(args: argparse.Namespace) -> int:
    from hotline.edge.process import Edge

    print("edge stopped" if Edge(settings_of(args)).stop() else "edge was not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hotline.edge.process import Edge

    edge = Edge(settings_of(args))
    pid = edge.pid()
    info: dict[str, object] = {"running": pid is not None, "pid": pid}
    if pid is not None:
        info["nodes"] = [{"name": n.name, "uri": n.uri, "up": n.up, "flags": n.flags} for n in edge.nodes()]
        if edge.settings.database_url.startswith("postgresql"):
            info["steered"] = edge.steered()  # new calls, in turn; empty: round robin
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0 if pid is not None else 3


def cmd_render(args: argparse.Namespace) -> int:
    from hotline.edge.render import render_edge

    dest = Path(args.dir)
    etc, run = Path("/etc/kamailio"), Path("/run/kamailio")
    written = render_edge(settings_of(args, as_service=False), dest, run, installed_at=etc)
    for path in written:
        print(path)
    print(f"{len(written)} files (mode 600). Install them as {etc}; the RPC socket is {run}/rpc.sock.", file=sys.stderr)
    return 0
