"""Calls end to end through the real Asterisk: IVR -> queue -> seat.

300 callers and 26 simulated seats (all on lines) in one run. Prints calls
completed, lost and stuck, seats left out of step with Asterisk, the
controller's CPU, its AMI event lag and the most files the PBX held open.
Target: nothing lost or stuck. Ends by --deadline whatever happens, and
prints what it has (callers not done by then are counted stuck).

    .venv/bin/python -m bench.acd_load [--callers 300] [--seats 26] [--deadline 300]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.common import acd_callers, bench_pbx, controller, load_report, menu_begins, percentile
from bench.record import record
from hotline import eventloop
from hotline.acd.api import ACD
from hotline.acd.intent import desired, diff
from hotline.config import Settings
from hotline.pbx.descriptors import file_use
from hotline.pbx.process import Pbx
from hotline.server import AMI, FASTAGI, KEEPER
from hotline.tasks import wait_event


async def _peak_files(pbx: Pbx, peak: list[int], stop: asyncio.Event) -> None:
    pid = await asyncio.to_thread(pbx.asterisk_pid)
    while pid is not None and not stop.is_set():
        use = await asyncio.to_thread(file_use, pid)
        if use is not None:
            peak[0], peak[1] = max(peak[0], use.open), use.limit
        await wait_event(stop, 1.0)


async def run(settings: Settings, pbx: Pbx, callers: int, seats: int, talk_s: int, deadline: float) -> None:
    async with controller(settings) as app:
        acd = app[ACD]
        await app[AMI].action("Setvar", Variable="SIM_TALK", Value=str(talk_s))
        for i in range(1, seats + 1):
            await acd.login(f"seat{i:02d}", f"agent{i:02d}", f"坐席{i}")
        await acd.set_lines(seats, "bench")
        press_after = menu_begins(settings, app)
        client = app[AMI]
        lags_before = len(client.dispatcher.event_lags)
        cpu0, t0 = time.process_time(), time.monotonic()
        peak, stop = [0, 0], asyncio.Event()
        sampler = asyncio.ensure_future(_peak_files(pbx, peak, stop))
        # The callers' own deadline, then a margin for their hang-up and report.
        load = await load_report(acd_callers(settings, callers, press_after, deadline), deadline + 90, settings) or {
            "callers": callers,
            "completed": 0,
            "lost": 0,
            "stuck": callers,
            "seconds": deadline,
            "queued": 0,
            "connected": 0,
            "note": "the load generator did not report: every caller counted stuck",
        }
        stop.set()
        await sampler
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        await asyncio.sleep(2)
        queue = app[KEEPER].mirror.queues.get("hotline")
        out_of_step = diff(desired(acd.floor), dict(queue.members) if queue else {})
        lags = [x * 1000 for x in list(client.dispatcher.event_lags)[lags_before:]]
        print(
            f"callers / seats           {load['callers']} / {seats}  (talk {talk_s} s, wrap-up "
            f"{settings.acd.wrapup_seconds:g} s)"
        )
        print(
            f"completed / lost / stuck  {load['completed']} / {load['lost']} / {load['stuck']}  in {load['seconds']} s"
        )
        print(f"reached queue / a seat    {load['queued']} / {load['connected']}")
        print(f"IVR sessions failed       {app[FASTAGI].sessions_failed}")
        print(f"seats out of step         {len(out_of_step)} (flagged desynced: {len(acd.desynced)})")
        print(
            f"AMI event lag             p50 {percentile(lags, 50):.1f} ms  p99 {percentile(lags, 99):.1f} ms"
            f"  max {max(lags, default=float('nan')):.1f} ms  (n={len(lags)})"
        )
        print(f"controller CPU            {cpu:.1f} s over {wall:.0f} s = {100 * cpu / wall:.1f} % of one core")
        print(f"PBX open files at peak    {peak[0]} of its limit {peak[1]}")
        if "note" in load:
            print(f"note                      {load['note']}")
        record(
            "acd_load",
            {
                "controller_ms_per_call": 1000 * cpu / max(int(load["completed"]), 1),
                "ami_lag_p50_ms": percentile(lags, 50),
                "ami_lag_p99_ms": percentile(lags, 99),
                "lost": int(load["lost"]),
                "stuck": int(load["stuck"]),
                "seats_out_of_step": len(out_of_step),
            },
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--callers", type=int, default=300)
    p.add_argument("--seats", type=int, default=26)
    p.add_argument("--talk", type=int, default=8, help="seconds a simulated seat talks")
    p.add_argument("--deadline", type=float, default=300.0, help="seconds until the run ends, done or not")
    args = p.parse_args()
    with bench_pbx(seats={"phones": "simulated", "count": max(args.seats, 26)}, acd={"wrapup_seconds": 2.0}) as (
        settings,
        pbx,
    ):
        eventloop.run(run(settings, pbx, args.callers, args.seats, args.talk, args.deadline))


if __name__ == "__main__":
    main()
