"""Time from answer to the queue through the shipped IVR, per path.

Three kinds of caller go through the default flow, at the default prompt
speed: one who presses 1 at once (during the welcome: type-ahead), one who
presses 1 after the whole menu, and one who presses nothing. Times are taken
from Asterisk's own event timestamps: the Answer of the call in
hotline-entry to its QueueCallerJoin.

    .venv/bin/python bench/time_to_queue.py [--calls 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics

from bench.common import bench_pbx, controller
from bench.record import record
from hotline import eventloop
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.ivr.api import FLOWS
from hotline.sim import call_in

_numbers = itertools.count(13100000000)


def stamp(e: ev.Event) -> float:
    return float(e.raw.get("Timestamp") or 0.0)


class Caller:
    def __init__(self, client: AMIClient, path: str, welcome: str, menu: str):
        self.client, self.path, self.welcome, self.menu = client, path, welcome, menu
        self.number = str(next(_numbers))
        self.inner = ""
        self.answered = 0.0
        self.queued = asyncio.get_running_loop().create_future()
        self.pressed = False

    async def key(self) -> None:
        if not self.pressed:
            self.pressed = True
            await self.client.action("PlayDTMF", Channel=self.inner[:-1] + "1", Digit="1", Duration=100)

    async def on_event(self, e: ev.Event) -> None:
        if isinstance(e, ev.NewCallerid) and e.caller_id_num == self.number and e.channel.endswith(";2"):
            self.inner = e.channel
        elif (
            isinstance(e, ev.Newexten)
            and e.channel == self.inner
            and e.context == "hotline-entry"
            and e.application == "Answer"
        ):
            self.answered = stamp(e)
        elif isinstance(e, ev.AGIExecStart) and e.channel == self.inner:
            # Over FastAGI (ivr.engine = fastagi).
            if self.path == "key at once" and self.welcome in e.command:
                await self.key()
            elif self.path == "key after the menu" and e.command.startswith("WAIT FOR DIGIT"):
                await self.key()
        elif isinstance(e, ev.Newexten) and e.channel == self.inner and e.priority > 0:
            # The flow in the dialplan (priority 0 is a key's jump, not a step).
            if self.path == "key at once" and e.application.lower() == "background" and e.app_data == self.welcome:
                await self.key()
            elif self.path == "key after the menu" and e.application == "WaitExten":
                await self.key()
        elif isinstance(e, ev.QueueCallerJoin) and e.caller_id_num == self.number and not self.queued.done():
            self.queued.set_result(stamp(e) - self.answered)


async def run(settings: Settings, calls: int) -> None:
    async with controller(settings) as app:
        compiled = app[FLOWS].current()
        welcome = compiled.prompts[("welcome", "prompt")]
        menu = compiled.prompts[("day_menu", "prompt")]
        store_seconds = {
            name: app[FLOWS].prompts.seconds(compiled.flow.nodes[name].prompt) for name in ("welcome", "day_menu")
        }
        client = AMIClient(settings.ami, name="bench-callers", event_filters=[])
        callers: list[Caller] = []

        async def dispatch(e: ev.Event) -> None:
            for c in callers:
                await c.on_event(e)

        client.on_any(dispatch)
        await client.start()
        await client.wait_connected(10)
        results: dict[str, list[float]] = {}
        try:
            for path in ("key at once", "key after the menu", "no key"):
                for _ in range(calls):
                    c = Caller(client, path, welcome, menu)
                    callers.append(c)
                    await call_in(client, c.number, hold_s=120)
                    results.setdefault(path, []).append(await asyncio.wait_for(c.queued, 60))
                    await client.action("Hangup", Channel="/^Local/")
                    callers.remove(c)
        finally:
            await client.close()
        print(
            f"prompts (speed {settings.ivr.speed})     welcome {store_seconds['welcome']:.2f} s, "
            f"day menu {store_seconds['day_menu']:.2f} s, menu wait {compiled.flow.nodes['day_menu'].timeout:g} s"
        )
        for path, times in results.items():
            print(
                f"answer -> queue, {path:<19} median {statistics.median(times):5.2f} s  "
                f"max {max(times):5.2f} s  (n={len(times)})"
            )
        record(
            "time_to_queue",
            {f"to_queue_{p.replace(' ', '_')}_median_ms": 1000 * statistics.median(t) for p, t in results.items()},
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=5, help="calls per path")
    args = p.parse_args()
    # It times the IVR's commands by AGIExecStart, which the PBX as shipped does not make.
    with bench_pbx(pbx={"unread_events": True}) as (settings, _pbx):
        eventloop.run(run(settings, args.calls))


if __name__ == "__main__":
    main()
