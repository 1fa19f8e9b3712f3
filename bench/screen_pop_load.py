"""Load process of bench/screen_pop.py: the agents' desks and the callers.

Reads the agents (username, password) as JSON on stdin, opens a desk
websocket for each, queues N callers at once, and for every pop records the
time since Asterisk stamped that call's AgentConnect, and the same for the
ticket frame that follows once the ticket is committed. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import aiohttp

from hotline.ami import events as ev
from hotline.ami.client import AMIClient
from hotline.config import AmiSettings


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--callers", type=int, default=300)
    p.add_argument("--spread", type=float, default=15.0, help="seconds over which the callers arrive")
    p.add_argument("--deadline", type=float, default=900.0)
    args = p.parse_args()
    agents = json.loads(sys.stdin.read())

    connected_at: dict[str, float] = {}  # caller -> Asterisk's AgentConnect timestamp
    popped_at: dict[str, float] = {}  # caller -> pop arrival (wall clock)
    ticket_at: dict[str, float] = {}  # caller -> ticket frame arrival
    numbers = [str(13200000000 + i) for i in range(args.callers)]
    wanted = set(numbers)
    answered: set[str] = set()
    done = asyncio.Event()

    def check() -> None:
        if len(connected_at) >= len(numbers) and len(ticket_at) >= len(numbers):
            done.set()

    def on_connect(e: ev.AgentConnect) -> None:
        stamp = e.raw.get("Timestamp")
        if stamp and e.caller_id_num in wanted:
            connected_at[e.caller_id_num] = float(stamp)
            answered.add(e.uniqueid)
            check()

    in_system = {"now": 0, "peak": 0}

    def on_join(e: ev.QueueCallerJoin) -> None:
        if e.caller_id_num in wanted:
            in_system["now"] += 1
            in_system["peak"] = max(in_system["peak"], in_system["now"])

    def on_complete(e: ev.AgentComplete) -> None:
        if e.uniqueid in answered:
            in_system["now"] -= 1

    # Only the events it counts: the load process must not eat the CPU the
    # controller is measured on (two cores for Asterisk, controller and load).
    client = AMIClient(
        AmiSettings(port=args.port, secret=os.environ["HOTLINE_BENCH_AMI_SECRET"], action_timeout=30),
        name="bench-pop",
        event_filters=["AgentConnect", "QueueCallerJoin", "AgentComplete"],
    )
    client.on(ev.AgentConnect, on_connect)
    client.on(ev.QueueCallerJoin, on_join)
    client.on(ev.AgentComplete, on_complete)
    await client.start()
    await client.wait_connected(15)

    sessions = []
    sockets = []

    async def desk(agent: dict[str, str], n: int) -> None:
        # Each desk from a loopback address of its own, as from its own PC:
        # the login throttle counts per address.
        http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.1.{n + 1}", 0)),
        )
        sessions.append(http)
        async with http.post(
            args.url + "api/login", json={"username": agent["username"], "password": agent["password"]}
        ) as resp:
            resp.raise_for_status()
        ws = await http.ws_connect(args.url + "ws/desk", origin=args.url.rstrip("/"))
        sockets.append(ws)

        async def read() -> None:
            async for msg in ws:
                frame = json.loads(msg.data)
                if frame["type"] == "pop":
                    popped_at.setdefault(frame["caller"], time.time())
                elif frame["type"] == "ticket":
                    ticket_at.setdefault(frame["ticket"]["caller"], time.time())
                    check()

        readers.append(asyncio.ensure_future(read()))

    readers: list[asyncio.Task[None]] = []
    await asyncio.gather(*(desk(a, n) for n, a in enumerate(agents)))
    gap = args.spread / max(1, len(numbers))
    for number in numbers:
        await client.action(
            "Originate",
            Channel="Local/s@hotline-fallback",
            Application="Wait",
            Data="900",
            CallerID=f"<{number}>",
            Async="true",
        )
        await asyncio.sleep(gap)
    try:
        async with asyncio.timeout(args.deadline):
            await done.wait()
    except TimeoutError:
        pass
    latencies = [popped_at[n] - connected_at[n] for n in numbers if n in popped_at and n in connected_at]
    tickets = [ticket_at[n] - connected_at[n] for n in numbers if n in ticket_at and n in connected_at]
    for ws in sockets:
        await ws.close()
    for r in readers:
        r.cancel()
    for http in sessions:
        await http.close()
    await client.close()
    print(
        json.dumps(
            {
                "desks": len(sockets),
                "connected": len(connected_at),
                "peak": in_system["peak"],
                "latencies": latencies,
                "tickets": tickets,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
