"""Seat answers -> the agent's desk shows the ticket: screen-pop latency.

300 callers arrive within 15 s for 26 simulated seats (so nearly all 300
are in the system at once), each seat worked by an
agent whose desk websocket is open (in a separate load process, as a
browser would be). Latency is measured from Asterisk's AgentConnect
timestamp to the pop frame (caller, IVR path, earlier tickets) arriving at
the desk; target p99 < 300 ms. The ticket frame (its number, after the
commit) is measured the same way.

    .venv/bin/python -m bench.screen_pop [--callers 300] [--seats 26]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import bench_pbx, controller, generator_env, percentile
from bench.record import record
from hotline import accounts, eventloop
from hotline.acd.api import ACD
from hotline.config import Settings
from hotline.roles import Role
from hotline.server import AMI
from hotline.tickets.api import HANDOFF, STORE
from hotline.web.keys import SESSIONS


async def run(settings: Settings, callers: int, seats: int, talk_s: int, spread: float) -> None:
    async with controller(settings) as app:
        acd = app[ACD]
        await app[AMI].action("Setvar", Variable="SIM_TALK", Value=str(talk_s))
        agents = []
        async with app[SESSIONS]() as db, db.begin():
            for i in range(1, seats + 1):
                _, password = await accounts.create_user(db, f"agent{i:02d}", f"坐席{i}", [Role.AGENT])
                agents.append({"username": f"agent{i:02d}", "password": password, "seat": f"seat{i:02d}"})
        for a in agents:
            await acd.login(a["seat"], a["username"], a["username"])
        await acd.set_lines(seats, "bench")
        cpu0, t0 = time.process_time(), time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).parent / "screen_pop_load.py"),
            "--port",
            str(settings.ami.port),
            "--callers",
            str(callers),
            "--spread",
            str(spread),
            "--url",
            f"http://{settings.web.host}:{settings.web.port}/",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=generator_env(settings),
        )
        out, _ = await proc.communicate(json.dumps(agents).encode())
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        result = json.loads(out.decode().strip().splitlines()[-1])
        lat = [x * 1000 for x in result["latencies"]]
        tickets = [x * 1000 for x in result["tickets"]]
        inside = [x * 1000 for x in app[HANDOFF].pop_seconds]
        print(
            f"callers / seats / desks   {callers} / {seats} / {result['desks']}  (arriving over {spread:g} s,"
            f" talk {talk_s} s, at most {result['peak']} calls at once)"
        )
        print(
            f"pops received             {len(lat)} of {result['connected']} answered calls"
            f"  (missing {result['connected'] - len(lat)}), tickets stored {await app[STORE].count()}"
        )
        print(
            f"AgentConnect -> desk pop  p50 {percentile(lat, 50):.1f} ms  p99 {percentile(lat, 99):.1f} ms"
            f"  max {max(lat, default=float('nan')):.1f} ms   (target p99 < 300 ms)"
        )
        print(
            f"  of which in controller  p50 {percentile(inside, 50):.1f} ms  p99 {percentile(inside, 99):.1f} ms"
            "  (event handled -> pop queued)"
        )
        print(
            f"AgentConnect -> ticket no p50 {percentile(tickets, 50):.1f} ms  p99 {percentile(tickets, 99):.1f} ms"
            f"  max {max(tickets, default=float('nan')):.1f} ms   (the committed ticket's number on the desk)"
        )
        print(f"controller CPU            {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.1f} % of one core")
        record(
            "screen_pop",
            {
                "pop_p50_ms": percentile(lat, 50),
                "pop_p99_ms": percentile(lat, 99),
                "pop_inside_p99_ms": percentile(inside, 99),
                "ticket_p99_ms": percentile(tickets, 99),
                "pops_missing": result["connected"] - len(lat),
                "controller_ms_per_call": 1000 * cpu / max(int(result["connected"]), 1),
            },
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--callers", type=int, default=300)
    p.add_argument("--seats", type=int, default=26)
    p.add_argument("--talk", type=int, default=3, help="seconds a simulated seat talks")
    p.add_argument("--spread", type=float, default=15.0, help="seconds over which the callers arrive")
    args = p.parse_args()
    with bench_pbx(
        seats={"phones": "simulated", "count": max(args.seats, 26)},
        acd={"wrapup_seconds": 1.0},
        tickets={"survey": False},
    ) as (settings, _pbx):
        eventloop.run(run(settings, args.callers, args.seats, args.talk, args.spread))


if __name__ == "__main__":
    main()
