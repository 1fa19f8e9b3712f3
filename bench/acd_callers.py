"""Load generator for bench/acd_load.py (its own process): N callers dial
12345, press 1 at the menu, and are followed until a seat has finished
their call. Prints how many completed, were lost or got stuck."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import AmiSettings
from hotline.sim import call_in, watch


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--callers", type=int, default=300)
    p.add_argument("--press-after", type=float, required=True, help="seconds after the answer the menu has begun")
    p.add_argument("--spread", type=float, default=30.0)
    p.add_argument("--deadline", type=float, default=300.0)
    args = p.parse_args()

    client = AMIClient(
        AmiSettings(port=args.port, secret=os.environ["HOTLINE_BENCH_AMI_SECRET"], action_timeout=30),
        name="bench-acd",
        event_filters=[],
    )
    numbers = {str(13100000000 + i) for i in range(args.callers)}
    inner_of: dict[str, str] = {}
    pressed: set[str] = set()
    queued: set[str] = set()
    connected: set[str] = set()
    completed: set[str] = set()
    lost: set[str] = set()
    done = asyncio.Event()
    timers: set[asyncio.Task[None]] = set()

    def finish_check() -> None:
        if len(completed) + len(lost) >= len(numbers):
            done.set()

    def on_callerid(e: ev.NewCallerid) -> None:
        if e.caller_id_num in numbers and e.channel.endswith(";2") and e.channel.startswith("Local/12345@"):
            inner_of[e.channel] = e.caller_id_num

    async def press_later(channel: str) -> None:
        await asyncio.sleep(args.press_after)
        caller = inner_of.get(channel)
        if caller and caller not in pressed:
            pressed.add(caller)
            await client.action("PlayDTMF", Channel=channel[:-1] + "1", Digit="1", Duration=100)

    def on_exten(e: ev.Newexten) -> None:
        # The answer, by the clock: the PBX as shipped does not report the IVR's AGI commands.
        if e.application == "Answer" and e.channel in inner_of:
            timer = asyncio.create_task(press_later(e.channel))
            timers.add(timer)
            timer.add_done_callback(timers.discard)

    def on_join(e: ev.QueueCallerJoin) -> None:
        if e.caller_id_num in numbers:
            queued.add(e.caller_id_num)

    on_seat: dict[str, str] = {}  # interface -> caller in a call there

    def on_connect(e: ev.AgentConnect) -> None:
        if e.caller_id_num in numbers:
            connected.add(e.caller_id_num)
            on_seat[e.interface] = e.caller_id_num

    def on_complete(e: ev.AgentComplete) -> None:
        # AgentComplete can arrive without the caller's fields; the seat says who it was.
        caller = on_seat.pop(e.interface, "") or e.caller_id_num
        if caller in numbers:
            completed.add(caller)
            finish_check()

    def on_abandon(e: ev.QueueCallerAbandon) -> None:
        if e.caller_id_num in numbers:
            lost.add(e.caller_id_num)
            finish_check()

    def on_hangup(e: ev.Hangup) -> None:
        caller = inner_of.get(e.channel)
        if caller and caller not in connected and caller not in lost:
            lost.add(caller)  # hung up (or was dropped) before reaching a seat
            finish_check()

    await watch(
        client,
        {
            ev.NewCallerid: on_callerid,
            ev.Newexten: on_exten,
            ev.QueueCallerJoin: on_join,
            ev.AgentConnect: on_connect,
            ev.AgentComplete: on_complete,
            ev.QueueCallerAbandon: on_abandon,
            ev.Hangup: on_hangup,
        },
    )
    started = time.monotonic()
    try:
        # One deadline over the whole run: placing the calls can stall too
        # (actions timing out when the PBX is out of files).
        async with asyncio.timeout(args.deadline):
            for number in sorted(numbers):
                await call_in(client, number, hold_s=3600)
                await asyncio.sleep(args.spread / args.callers)
            await done.wait()
    except TimeoutError:
        pass
    elapsed = time.monotonic() - started
    stuck = len(numbers) - len(completed) - len(lost)
    try:
        async with asyncio.timeout(30):
            await client.action("Hangup", Channel="/^Local/")
            await client.close()
    except (TimeoutError, OSError) as exc:
        print(f"acd_callers: hang-up at the end failed: {exc!r}")
    print(
        json.dumps(
            {
                "callers": len(numbers),
                "pressed": len(pressed),
                "queued": len(queued),
                "connected": len(connected),
                "completed": len(completed),
                "lost": len(lost),
                "stuck": stuck,
                "seconds": round(elapsed, 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
