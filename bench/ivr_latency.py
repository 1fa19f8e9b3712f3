"""IVR step latency with many callers in the IVR at once (target p99 < 20 ms).

Runs the bundled PBX and the controller on the bench ports; a separate
process dials the callers and presses a key when each hears the menu. Prints
the controller's turnaround from a DTMF reply to its next AGI command (and
over every step), and the controller's CPU per step and when idle. Every
step runs over FastAGI here (ivr.engine = fastagi), as at each node the
flow in the dialplan hands over.

    .venv/bin/python bench/ivr_latency.py [--callers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from bench.common import bench_pbx, controller, load_report, menu_begins, percentile
from bench.record import record
from hotline import eventloop
from hotline.config import Settings
from hotline.server import FASTAGI, IVR


async def run(settings: Settings, callers: int) -> None:
    async with controller(settings) as app:
        agi, driver = app[FASTAGI], app[IVR]
        press_after = menu_begins(settings, app)

        idle_cpu0, idle_t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(5)
        idle_pct = 100 * (time.process_time() - idle_cpu0) / (time.monotonic() - idle_t0)

        cpu0 = time.process_time()
        load = await load_report(
            [
                str(Path(__file__).parent / "ivr_callers.py"),
                "--port",
                str(settings.ami.port),
                "--callers",
                str(callers),
                "--press-after",
                f"{press_after:.3f}",
                "--deadline",
                "300",
            ],
            400,
            settings,
        )
        cpu = time.process_time() - cpu0
        if load is None:
            return
        steps = len(agi.turnarounds) + agi.sessions_started
        key_ms = [x * 1000 for x in agi.key_turnarounds]
        all_ms = [x * 1000 for x in agi.turnarounds]
        print(f"callers dialled          {load['callers']}  (peak {load['peak_in_ivr']} in the IVR at once)")
        print(f"pressed a key / queued   {load['pressed']} / {load['queued']}  in {load['seconds']} s")
        print(f"IVR sessions / routed    {agi.sessions_started} / {driver.calls_routed}  failed {agi.sessions_failed}")
        print(
            f"DTMF -> next command     p50 {percentile(key_ms, 50):.2f} ms  p99 {percentile(key_ms, 99):.2f} ms"
            f"  max {max(key_ms, default=float('nan')):.2f} ms  (n={len(key_ms)})"
        )
        print(
            f"any reply -> next cmd    p50 {percentile(all_ms, 50):.2f} ms  p99 {percentile(all_ms, 99):.2f} ms"
            f"  (n={len(all_ms)})"
        )
        print(f"controller CPU           {cpu * 1000 / max(steps, 1):.3f} ms per AGI step ({steps} steps, {cpu:.2f} s)")
        print(f"controller CPU idle      {idle_pct:.2f} %")
        record(
            "ivr_latency",
            {
                "dtmf_next_p50_ms": percentile(key_ms, 50),
                "dtmf_next_p99_ms": percentile(key_ms, 99),
                "reply_next_p99_ms": percentile(all_ms, 99),
                "controller_ms_per_step": cpu * 1000 / max(steps, 1),
                "idle_cpu_percent": idle_pct,
                "sessions_failed": agi.sessions_failed,
            },
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--callers", type=int, default=200)
    args = p.parse_args()
    with bench_pbx(ivr={"engine": "fastagi"}) as (settings, _pbx):
        eventloop.run(run(settings, args.callers))


if __name__ == "__main__":
    main()
