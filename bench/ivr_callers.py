"""Load generator for bench/ivr_latency.py, run as its own process so that
its work does not count as the controller's CPU.

Dials N simulated callers into 12345 (or any channel: bench/native_twin.py
dials the native-dialplan twin), presses a key --press-after seconds after
the answer (once the menu has begun: the PBX as shipped does not report the
IVR's AGI commands, and the twin's caller is pressed the same way), and
reports how many reached the queue and each one's time from answer to the
queue, by Asterisk's own event timestamps.
"""

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

UP = 6  # ChannelState: answered


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--callers", type=int, default=200)
    p.add_argument("--press-after", type=float, required=True, help="seconds after the answer the menu has begun")
    p.add_argument("--key", default="1")
    p.add_argument("--spread", type=float, default=5.0, help="seconds over which the calls arrive")
    p.add_argument("--deadline", type=float, default=180.0)
    p.add_argument("--channel", default="", help="originate this instead of Local/12345@from-pstn")
    p.add_argument(
        "--hangup-queued",
        action="store_true",
        help="hang a caller up once queued: only the IVR's cost is measured, not hours of hold music",
    )
    args = p.parse_args()

    # Only what it reacts to: an AMI client that takes every event makes
    # Asterisk format and send each one, and that would count as the call's
    # cost. The answer is read from the channel's state (class call), not
    # from the dialplan's steps: a listener to the dialplan class (Newexten)
    # makes Asterisk format an event per step, which no deployed client does.
    client = AMIClient(
        AmiSettings(port=args.port, secret=os.environ["HOTLINE_BENCH_AMI_SECRET"], action_timeout=30),
        name="bench-load",
        event_filters=["NewCallerid", "Newstate", "QueueCallerJoin"],
    )
    first = 13000000000
    numbers = {str(first + i) for i in range(args.callers)}
    pressed: set[str] = set()
    queued: set[str] = set()
    in_ivr = 0
    peak_in_ivr = 0
    inner_of: dict[str, str] = {}
    answered: dict[str, float] = {}
    to_queue: list[float] = []
    done = asyncio.Event()
    timers: set[asyncio.Task[None]] = set()

    def on_callerid(e: ev.NewCallerid) -> None:
        if e.caller_id_num in numbers and e.channel.endswith(";2"):
            inner_of[e.channel] = e.caller_id_num

    async def press(channel: str) -> None:
        caller = inner_of.get(channel)
        if caller is None or caller in pressed:
            return
        pressed.add(caller)
        await client.action("PlayDTMF", Channel=channel[:-1] + "1", Digit=args.key, Duration=100)

    async def press_later(channel: str) -> None:
        await asyncio.sleep(args.press_after)
        await press(channel)

    async def on_state(e: ev.Newstate) -> None:
        if e.channel not in inner_of or e.channel_state != UP or inner_of[e.channel] in answered:
            return
        answered[inner_of[e.channel]] = float(e.raw.get("Timestamp") or 0)
        timer = asyncio.create_task(press_later(e.channel))
        timers.add(timer)
        timer.add_done_callback(timers.discard)

    async def on_join(e: ev.QueueCallerJoin) -> None:
        nonlocal in_ivr
        if e.caller_id_num in numbers and e.caller_id_num not in queued:
            queued.add(e.caller_id_num)
            if e.caller_id_num in answered:
                to_queue.append(float(e.raw.get("Timestamp") or 0) - answered[e.caller_id_num])
            in_ivr -= 1
            if len(queued) == len(numbers):
                done.set()
            if args.hangup_queued:
                await client.action("Hangup", Channel=e.channel)

    await watch(client, {ev.NewCallerid: on_callerid, ev.Newstate: on_state, ev.QueueCallerJoin: on_join})
    started = time.monotonic()
    for number in sorted(numbers):
        if args.channel:
            await client.action(
                "Originate",
                Channel=args.channel,
                Application="Wait",
                Data="600",
                CallerID=f"<{number}>",
                Async="true",
                Timeout=30000,
            )
        else:
            await call_in(client, number, hold_s=600)
        in_ivr += 1
        peak_in_ivr = max(peak_in_ivr, in_ivr)
        await asyncio.sleep(args.spread / args.callers)
    try:
        async with asyncio.timeout(max(1.0, args.deadline - (time.monotonic() - started))):
            await done.wait()
    except TimeoutError:
        pass
    elapsed = time.monotonic() - started
    try:
        async with asyncio.timeout(30):
            await client.action("Hangup", Channel="/^Local/")
            await client.close()
    except (TimeoutError, OSError) as exc:
        print(f"ivr_callers: hang-up at the end failed: {exc!r}")
    print(
        json.dumps(
            {
                "callers": len(numbers),
                "pressed": len(pressed),
                "queued": len(queued),
                "peak_in_ivr": peak_in_ivr,
                "seconds": round(elapsed, 1),
                "to_queue": to_queue,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
