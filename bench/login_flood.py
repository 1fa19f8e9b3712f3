"""Wrong-password floods against the calls: the first IVR command of a new
call and a gateway ticket, quiet and under 25 concurrent bad logins, each
from its own loopback address (127.0.1.x), so the per-address limit does not
turn them away and every one costs an argon2 verification.

The first IVR command's delay is taken from Asterisk's timestamps: the AGI()
application starting on the channel, to the first AGI command the controller
sends (AGIExecStart).

    .venv/bin/python -m bench.login_flood [--calls 10 --logins 25]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time

import aiohttp

from bench.common import bench_pbx, controller, median_max
from bench.record import record
from hotline import eventloop
from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.sim import call_in

_numbers = itertools.count(13200000000)


async def first_command_delay(client: AMIClient) -> float:
    number = str(next(_numbers))
    inner = ""
    started = asyncio.get_running_loop().create_future()
    first = asyncio.get_running_loop().create_future()

    def seen(e: ev.Event) -> None:
        nonlocal inner
        if isinstance(e, ev.NewCallerid) and e.caller_id_num == number and e.channel.endswith(";2"):
            inner = e.channel
        elif isinstance(e, ev.Newexten) and e.channel == inner and e.application == "AGI" and not started.done():
            started.set_result(float(e.raw.get("Timestamp")))
        elif isinstance(e, ev.AGIExecStart) and e.channel == inner and not first.done():
            first.set_result(float(e.raw.get("Timestamp")))

    client.on_any(seen)
    await call_in(client, number, hold_s=30)
    t0, t1 = await asyncio.wait_for(asyncio.gather(started, first), 30)
    await client.action("Hangup", Channel=inner)
    return t1 - t0


async def run(settings: Settings, calls: int, logins: int) -> None:
    async with controller(settings):
        token = ensure_secrets(settings)["gateway_tokens"]["web"]
        client = AMIClient(settings.ami, name="bench", event_filters=[])
        await client.start()
        await client.wait_connected(10)
        base = f"http://{settings.web.host}:{settings.web.port}"
        async with aiohttp.ClientSession() as http:

            async def flood() -> list[int]:
                # Its own process: the attacker's work is not the controller's.
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.login_flood",
                    "--attack",
                    base,
                    "--logins",
                    str(logins),
                    stdout=subprocess.PIPE,
                )
                out, _ = await proc.communicate()
                return json.loads(out)

            async def ticket() -> float:
                t = time.perf_counter()
                async with http.post(
                    f"{base}/api/channels/tickets",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"content": "噪音扰民", "category": "env-noise"},
                ) as r:
                    assert r.status == 201, await r.text()
                return time.perf_counter() - t

            quiet_agi = [await first_command_delay(client) for _ in range(calls)]
            quiet_ticket = [await ticket() for _ in range(calls)]
            flood_agi, flood_ticket, statuses = [], [], []
            for _ in range(calls):
                attack = asyncio.ensure_future(flood())
                await asyncio.sleep(1.0)  # the attacker has started and its logins are in flight
                flood_agi.append(await first_command_delay(client))
                flood_ticket.append(await ticket())
                statuses += await attack
                await asyncio.sleep(0.5)
        await client.close()

    def ms(values: list[float]) -> str:
        return median_max(values, scale=1000, unit="ms", width=7, digits=1)

    print(f"first IVR command, quiet                 {ms(quiet_agi)}  (n={calls})")
    print(f"first IVR command, {logins} bad logins       {ms(flood_agi)}")
    print(f"gateway ticket, quiet                    {ms(quiet_ticket)}")
    print(f"gateway ticket, {logins} bad logins          {ms(flood_ticket)}")
    print(
        f"login answers under the flood            "
        f"{statuses.count(401)} x 401 (checked), {statuses.count(429)} x 429 (throttled)"
    )
    record(
        "login_flood",
        {
            "first_command_quiet_median_ms": 1000 * statistics.median(quiet_agi),
            "first_command_flood_median_ms": 1000 * statistics.median(flood_agi),
            "ticket_quiet_median_ms": 1000 * statistics.median(quiet_ticket),
            "ticket_flood_median_ms": 1000 * statistics.median(flood_ticket),
        },
    )


async def attack(base: str, logins: int) -> None:
    async def bad_login(i: int) -> int:
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.1.{i % 250 + 1}", 0))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.post(
                f"{base}/api/login", json={"username": f"x{i}-{time.monotonic_ns()}", "password": "wrong-one"}
            ) as r,
        ):
            return r.status

    print(json.dumps(await asyncio.gather(*(bad_login(i) for i in range(logins)))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--logins", type=int, default=25)
    p.add_argument("--attack", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.attack:
        asyncio.run(attack(args.attack, args.logins))
        return
    # It times the IVR's commands by AGIExecStart, which the PBX as shipped does not make.
    # Every IVR step over FastAGI (ivr.engine): the flood must not slow the controller's answers.
    with bench_pbx(pbx={"unread_events": True}, ivr={"engine": "fastagi"}) as (settings, _pbx):
        eventloop.run(run(settings, args.calls, args.logins))


if __name__ == "__main__":
    main()
