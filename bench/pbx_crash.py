"""kill -9 of Asterisk with agents logged in and callers queued: how long
until Asterisk is back, and until the seats are re-synced with the intent.

Runs the bundled PBX under its supervisor and the controller; logs agents in
at seats (one paused), queues callers, kills Asterisk, and times from the
kill to (1) a new Asterisk answering on AMI with FullyBooted, (2) the
controller's health back to 200 (reconnected, mirror synced), (3) queue
membership and pauses equal to the controller's intent again.

    .venv/bin/python -m bench.pbx_crash [--seats 6 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import time

import aiohttp

from bench.common import bench_pbx, controller, median_max
from bench.record import record
from hotline import eventloop
from hotline.acd.api import ACD
from hotline.acd.intent import desired
from hotline.ami import events as ev
from hotline.ami.boot import wait_fully_booted
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.pbx.process import Pbx


async def membership(settings: Settings) -> dict[str, tuple[bool, str]]:
    client = AMIClient(settings.ami, name="bench-check", quiet=True)
    await client.start()
    try:
        await client.wait_connected(5)
        status = await client.list_action("QueueStatus", Queue="hotline")
        return {e.interface: (e.paused, e.paused_reason) for e in status.events if isinstance(e, ev.QueueMember)}
    finally:
        await client.close()


async def run(settings: Settings, pbx: Pbx, seats: int, rounds: int) -> None:
    async with controller(settings) as app:
        acd = app[ACD]
        for i in range(1, seats + 1):
            await acd.login(f"seat{i:02d}", f"agent{i:02d}", f"坐席员{i}")
        await acd.pause("seat02", "training", "agent02")
        await asyncio.sleep(2)

        def intent() -> dict[str, tuple[bool, str]]:
            # What the controller wants now: after a crash, the agents whose
            # calls died are in after-call work.
            return {w.interface: (w.paused, w.reason) for w in desired(acd.floor).values()}

        client = AMIClient(settings.ami, name="bench-callers", quiet=True)
        await client.start()
        await client.wait_connected(5)
        health_url = f"http://{settings.web.host}:{settings.web.port}/api/health"
        booted, healthy, synced = [], [], []
        async with aiohttp.ClientSession() as http:
            for _ in range(rounds):
                for n in range(seats + 4):
                    await client.action(
                        "Originate",
                        Channel="Local/s@hotline-fallback",
                        Application="Wait",
                        Data="600",
                        CallerID=f"<1330000{n:04d}>",
                        Async="true",
                    )
                await asyncio.sleep(2)
                victim = pbx.asterisk_pid()
                assert victim is not None
                t0 = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                while pbx.asterisk_pid() in (None, victim):
                    await asyncio.sleep(0.01)
                assert await wait_fully_booted(settings.ami, 60)
                booted.append(time.monotonic() - t0)
                while True:
                    try:
                        async with http.get(health_url) as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.01)
                healthy.append(time.monotonic() - t0)
                while True:
                    try:
                        if await membership(settings) == intent():
                            break
                    except Exception:
                        pass
                    await asyncio.sleep(0.02)
                synced.append(time.monotonic() - t0)
                await asyncio.sleep(3)
        await client.close()
    state = pbx.supervisor_state()

    fig = median_max

    print(f"seats logged in / paused   {seats} / 1, {seats + 4} callers queued, {rounds} kills")
    print(f"kill -9 -> Asterisk booted {fig(booted)}")
    print(f"kill -9 -> health 200      {fig(healthy)}")
    print(f"kill -9 -> seats re-synced {fig(synced)}  (membership and pauses equal the intent)")
    print(
        f"supervisor restarts        {state.restarts if state else '?'}; last exit: {state.last_exit if state else '?'}"
    )
    record(
        "pbx_crash",
        {
            "booted_median_ms": 1000 * statistics.median(booted),
            "healthy_median_ms": 1000 * statistics.median(healthy),
            "synced_median_ms": 1000 * statistics.median(synced),
        },
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seats", type=int, default=6)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    with bench_pbx() as (settings, pbx):
        eventloop.run(run(settings, pbx, args.seats, args.rounds))


if __name__ == "__main__":
    main()
