"""`hotline cluster …`: a whole cluster on this machine, for demos and tests."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hotline.cli.common import settings_of


def register(sub: Any) -> None:
    cluster = sub.add_parser(
        "cluster", help="a local cluster: PostgreSQL, two Asterisk nodes, Kamailio, two controllers"
    )
    verbs = cluster.add_subparsers(dest="sub", required=True)
    verbs.add_parser("up", help="start it all and print where to open each node").set_defaults(func=cmd_up)
    verbs.add_parser("down", help="stop it all (the data stays in <state_dir>/cluster)").set_defaults(func=cmd_down)
    verbs.add_parser("status", help="what runs (JSON)").set_defaults(func=cmd_status)


def cmd_up(args: argparse.Namespace) -> int:
    from hotline.cluster.local import EDGE_HOST, LocalCluster

    cluster = LocalCluster(settings_of(args))
    info = cluster.up(say=lambda line: print(f"starting {line}", flush=True))
    port = cluster.node(0).edge.sip_port
    print(f"\nThe cluster is up. Calls for 12345 go to the edge: sip:12345@{EDGE_HOST}:{port}")
    for node, url in info["web"].items():
        print(f"  node {node}: {url}")
    print("Stop it with: hotline cluster down")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from hotline.cluster.local import LocalCluster

    was = LocalCluster(settings_of(args)).down()
    print("the local cluster is stopped" if was else "the local cluster was not up (stopped what was left)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hotline.cluster.local import LocalCluster

    info = LocalCluster(settings_of(args)).status()
    print(json.dumps(info, ensure_ascii=False, indent=2))
    return 0 if all(info["controllers"].values()) and info["controllers"] else 3
