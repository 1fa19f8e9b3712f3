"""Load generator for bench/ivr_latency.py, run as its own process so that
its work does not count as the controller's CPU.

Dials N simulated callers into 12345, presses a key as soon as each hears the
menu, and reports how many reached the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import AmiSettings
from hotline.sim import call_in


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--callers", type=int, default=200)
    p.add_argument("--menu-file", required=True)
    p.add_argument("--key", default="1")
    p.add_argument("--spread", type=float, default=5.0, help="seconds over which the calls arrive")
    p.add_argument("--deadline", type=float, default=180.0)
    args = p.parse_args()

    client = AMIClient(AmiSettings(port=args.port, secret=args.secret, action_timeout=30), name="bench-load",
                       event_filters=[])
    first = 13000000000
    numbers = {str(first + i) for i in range(args.callers)}
    pressed: set[str] = set()
    queued: set[str] = set()
    in_ivr = 0
    peak_in_ivr = 0
    inner_of: dict[str, str] = {}
    done = asyncio.Event()

    def on_callerid(e: ev.NewCallerid) -> None:
        if e.caller_id_num in numbers and e.channel.endswith(";2"):
            inner_of[e.channel] = e.caller_id_num

    async def on_agi(e: ev.AGIExecStart) -> None:
        caller = inner_of.get(e.channel)
        if caller is None or caller in pressed or args.menu_file not in e.command:
            return
        pressed.add(caller)
        await client.action("PlayDTMF", Channel=e.channel[:-1] + "1", Digit=args.key, Duration=100)

    def on_join(e: ev.QueueCallerJoin) -> None:
        nonlocal in_ivr
        if e.caller_id_num in numbers and e.caller_id_num not in queued:
            queued.add(e.caller_id_num)
            in_ivr -= 1
            if len(queued) == len(numbers):
                done.set()

    client.on(ev.NewCallerid, on_callerid)
    client.on(ev.AGIExecStart, on_agi)
    client.on(ev.QueueCallerJoin, on_join)
    await client.start()
    await client.wait_connected(10)
    started = time.monotonic()
    for i, number in enumerate(sorted(numbers)):
        await call_in(client, number, hold_s=600)
        in_ivr += 1
        peak_in_ivr = max(peak_in_ivr, in_ivr)
        await asyncio.sleep(args.spread / args.callers)
    try:
        await asyncio.wait_for(done.wait(), args.deadline)
    except asyncio.TimeoutError:
        pass
    elapsed = time.monotonic() - started
    await client.action("Hangup", Channel="/^Local/")
    await client.close()
    print(json.dumps({"callers": len(numbers), "pressed": len(pressed), "queued": len(queued),
                      "peak_in_ivr": peak_in_ivr, "seconds": round(elapsed, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
