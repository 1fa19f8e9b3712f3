"""How many calls one node carries at once, and two nodes of a cluster.

A node is one bundled Asterisk and one controller, the controller in a
process of its own, on a private PostgreSQL with [cluster] on, as in a
cluster. The load is stepped: at each level every node gets N callers who
dial 12345, hear the IVR, press 1 and wait in the queue; a simulated seat
takes each at once and talks until all of the level's callers have been
answered, every answered call recorded (MixMonitor, as in production), so N
calls are in progress on the node at once. A node carries a level when no
caller is lost and its controller's AMI event lag (Asterisk's event stamp to
the controller handling it) stays under 100 ms at p99. The figure is the
highest level every node carried; with two nodes the cluster's figure is
the sum, and the ratio to one node's is printed.

    .venv/bin/python -m bench.capacity [--nodes 1] [--start 40] [--step 40] [--max 400] [--rate 8] [--pin]

Two nodes on one machine share its CPUs, so their sum says little about two
machines; --pin gives each node's Asterisk and controller a CPU of its own
(node a CPU 0, node b CPU 1), to compare one pinned node with two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import acd_callers, bench_pbx, controller, load_report, menu_begins, percentile
from bench.record import record
from hotline import eventloop
from hotline.acd.api import ACD
from hotline.config import Settings
from hotline.server import AMI, KEEPER

LAG_LIMIT_MS = 100.0
NODES = ("a", "b")


def _node_overrides(index: int, url: str, seats: int) -> dict[str, Any]:
    """Node index's ports (100 apart), its own loopback address and media ports."""
    step = 100 * index
    return {
        "ami": {"port": 25038 + step},
        "agi": {"port": 24573 + step},
        "web": {"port": 28080 + step},
        "pbx": {
            "sip_host": f"127.0.0.{41 + index}",
            "sip_port": 25060 + step,
            "sip_tls_port": 25061 + step,
            "http_port": 28088 + step,
            "rtp_start": 40000 + 2000 * index,
            "rtp_end": 41999 + 2000 * index,
        },
        "database": {"url": url},
        "cluster": {"node": NODES[index], "seat_settle_seconds": 5.0},
        "seats": {"phones": "simulated", "count": seats},
        "acd": {"wrapup_seconds": 0.0},
    }


async def _members(app: Any, queue: str = "hotline") -> int:
    q = app[KEEPER].mirror.queues.get(queue)
    return len(q.members) if q is not None else 0


async def _worker(settings: Settings, index: int, nodes: int, levels: list[int], rate: float) -> None:
    per_node = max(levels)
    async with controller(settings) as app:
        acd = app[ACD]
        # Each worker logs in its share of the pool; the leader places seats over the nodes.
        names = settings.seats.names()
        for i, seat in enumerate(names[index * per_node : (index + 1) * per_node]):
            await acd.login(seat, f"agent-{seat}", f"坐席{index * per_node + i + 1}")
        await acd.set_lines(nodes * per_node, "bench")
        deadline = time.monotonic() + 120
        while await _members(app) < per_node * 0.95 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        press_after = menu_begins(settings, app)
        client = app[AMI]
        print(json.dumps({"node": NODES[index], "ready": await _members(app)}), flush=True)
        for level in levels:
            spread = level / rate
            talk = int(spread + 15)
            await client.action("Setvar", Variable="SIM_TALK", Value=str(talk))
            before = len(client.dispatcher.event_lags)
            cpu0, t0 = time.process_time(), time.monotonic()
            load = await load_report(
                acd_callers(settings, level, press_after, spread + talk + 60, spread), spread + talk + 120, settings
            ) or {"completed": 0, "lost": 0, "stuck": level}
            lags = [x * 1000 for x in list(client.dispatcher.event_lags)[before:]]
            wall = time.monotonic() - t0
            report = {
                "node": NODES[index],
                "level": level,
                "completed": load["completed"],
                "lost": load["lost"],
                "stuck": load["stuck"],
                "lag_p50_ms": round(percentile(lags, 50), 1),
                "lag_p99_ms": round(percentile(lags, 99), 1),
                "cpu_percent": round(100 * (time.process_time() - cpu0) / wall, 1),
            }
            print(json.dumps(report), flush=True)
            if report["lost"] or report["stuck"] or report["lag_p99_ms"] > LAG_LIMIT_MS:
                break
            await asyncio.sleep(3)  # the level's calls end and their records are written


def _pin(pid: int, cpu: int) -> None:
    """Every thread of pid onto one CPU (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {cpu})
        except (ProcessLookupError, PermissionError):
            continue


def _worker_main(args: argparse.Namespace) -> None:
    levels = [int(x) for x in args.levels.split(",")]
    seats = args.nodes * max(levels)
    with bench_pbx(**_node_overrides(args.index, args.url, seats)) as (settings, pbx):
        if args.pin:
            # As if the node had a machine of its own: its Asterisk and its
            # controller on CPU `index`; the callers and PostgreSQL float.
            asterisk = pbx.asterisk_pid()
            assert asterisk is not None
            _pin(asterisk, args.index)
            _pin(os.getpid(), args.index)
        eventloop.run(_worker(settings, args.index, args.nodes, levels, args.rate))


def _run(nodes: int, levels: list[int], rate: float, pin: bool) -> dict[str, Any]:
    from tests.pg import PostgresServer  # the suite's private server: initdb, loopback only

    pg = PostgresServer(15489)
    pg.start()
    try:
        url = asyncio.run(pg.new_database())
        procs = []
        for index in range(nodes):
            argv = [sys.executable, "-m", "bench.capacity", "--worker", "--index", str(index)]
            argv += ["--nodes", str(nodes), "--url", url, "--levels", ",".join(map(str, levels)), "--rate", str(rate)]
            argv += ["--pin"] if pin else []
            procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
            if index == 0:
                time.sleep(8)  # the first node upgrades the schema and leads
        reports: dict[str, list[dict[str, Any]]] = {n: [] for n in NODES[:nodes]}
        for proc in procs:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if "level" in data:
                    reports[data["node"]].append(data)
                    print(
                        f"node {data['node']}  {data['level']:4d} calls  lost {data['lost']}  stuck {data['stuck']}"
                        f"  lag p50 {data['lag_p50_ms']:6.1f} p99 {data['lag_p99_ms']:7.1f} ms"
                        f"  controller CPU {data['cpu_percent']:5.1f} %",
                        flush=True,
                    )
                elif "ready" in data:
                    print(f"node {data['node']}  ready with {data['ready']} seats in its queue", flush=True)
            if proc.wait() != 0:
                raise SystemExit(f"bench: a node's run failed (exit {proc.returncode})")
    finally:
        pg.stop()
    carried = {
        n: max(
            (r["level"] for r in rs if not r["lost"] and not r["stuck"] and r["lag_p99_ms"] <= LAG_LIMIT_MS), default=0
        )
        for n, rs in reports.items()
    }
    return {"per_node": min(carried.values()), "total": min(carried.values()) * nodes, "reports": reports}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--nodes", type=int, choices=(1, 2), default=1)
    p.add_argument("--start", type=int, default=40)
    p.add_argument("--step", type=int, default=40)
    p.add_argument("--max", type=int, default=400)
    p.add_argument("--rate", type=float, default=8.0, help="callers placed per second on each node")
    p.add_argument(
        "--pin", action="store_true", help="each node's Asterisk and controller on a CPU of its own (node a: CPU 0)"
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", default="", help=argparse.SUPPRESS)
    p.add_argument("--levels", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        _worker_main(args)
        return
    levels = list(range(args.start, args.max + 1, args.step))
    result = _run(args.nodes, levels, args.rate, args.pin)
    print(
        f"carried: {result['per_node']} calls at once per node, {result['total']} on {args.nodes} node(s)"
        f" (lag p99 <= {LAG_LIMIT_MS:g} ms, nothing lost)"
    )
    key = f"calls_at_once_{args.nodes}_nodes" + ("_pinned" if args.pin else "")
    record("capacity", {key: result["total"]}, higher_is_better=[key])


if __name__ == "__main__":
    main()
