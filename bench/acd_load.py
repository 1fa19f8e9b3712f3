"""Calls end to end through the real Asterisk: IVR -> queue -> seat.

300 callers and 26 simulated seats (all on lines) in one run. Prints calls
completed, lost and stuck, seats left out of step with Asterisk, the
controller's CPU and its AMI event lag. Target: nothing lost or stuck.

    .venv/bin/python -m bench.acd_load [--callers 300] [--seats 26]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path


from bench.common import bench_pbx, controller, percentile
from hotline import eventloop
from hotline.acd.api import ACD
from hotline.acd.intent import desired, diff
from hotline.config import Settings
from hotline.ivr.api import FLOWS
from hotline.server import AMI, FASTAGI, KEEPER


async def run(settings: Settings, callers: int, seats: int, talk_s: int) -> None:
    async with controller(settings) as app:
        acd = app[ACD]
        await app[AMI].action("Setvar", Variable="SIM_TALK", Value=str(talk_s))
        for i in range(1, seats + 1):
            await acd.login(f"seat{i:02d}", f"agent{i:02d}", f"坐席{i}")
        await acd.set_lines(seats, "bench")
        menu = app[FLOWS].current().prompts[("day_menu", "prompt")]
        client = app[AMI]
        lags_before = len(client.dispatcher.event_lags)
        cpu0, t0 = time.process_time(), time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).parent / "acd_callers.py"), "--port", str(settings.ami.port),
            "--secret", settings.ami.secret, "--callers", str(callers), "--menu-file", menu,
            stdout=subprocess.PIPE)
        out, _ = await proc.communicate()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        load = json.loads(out.decode().strip().splitlines()[-1])
        await asyncio.sleep(2)
        queue = app[KEEPER].mirror.queues.get("hotline")
        out_of_step = diff(desired(acd.floor), dict(queue.members) if queue else {})
        lags = [x * 1000 for x in list(client.dispatcher.event_lags)[lags_before:]]
        print(f"callers / seats           {load['callers']} / {seats}  (talk {talk_s} s, wrap-up "
              f"{settings.acd.wrapup_seconds:g} s)")
        print(f"completed / lost / stuck  {load['completed']} / {load['lost']} / {load['stuck']}"
              f"  in {load['seconds']} s")
        print(f"reached queue / a seat    {load['queued']} / {load['connected']}")
        print(f"IVR sessions failed       {app[FASTAGI].sessions_failed}")
        print(f"seats out of step         {len(out_of_step)} (flagged desynced: {len(acd.desynced)})")
        print(f"AMI event lag             p50 {percentile(lags, 50):.1f} ms  p99 {percentile(lags, 99):.1f} ms"
              f"  max {max(lags, default=float('nan')):.1f} ms  (n={len(lags)})")
        print(f"controller CPU            {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.1f} % of one core")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--callers", type=int, default=300)
    p.add_argument("--seats", type=int, default=26)
    p.add_argument("--talk", type=int, default=8, help="seconds a simulated seat talks")
    args = p.parse_args()
    with bench_pbx(seats={"phones": "simulated", "count": max(args.seats, 26)},
                   acd={"wrapup_seconds": 2.0}) as (settings, _pbx):
        eventloop.run(run(settings, args.callers, args.seats, args.talk))


if __name__ == "__main__":
    main()
